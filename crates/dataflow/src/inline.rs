//! The inline Rust of a dataflow file (`run:`), and the package functions its steps use
//! (`uses:`), with where each snippet sits in its file, for `eddy build`: [`inline_code`],
//! [`inline_code_with`].
//!
//! A compiler error inside a snippet has a line and column in the snippet's text;
//! [`InlineCode::place`] turns them into a line and column of the dataflow file, whether the
//! snippet is written as a block (`run: |`), on one line, or in quotes with escapes.
//!
//! This reads the file only as far as the model: the rest of validation is [`crate::parse`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diagnostic::{Diagnostics, Finding};
use crate::model::{Dataflow, FlushPer, Operator, PackageId, Partition, Service, Step, TypeDef};
use crate::package::{Lookup, PackagePaths, Packages};
use crate::yaml::node::{self, Node};
use crate::yaml::recover::Recovery;
use crate::yaml::{Path, Pos};

/// Where in a service a snippet runs, which says what it is given and must return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineSite {
    /// A step of a `transforms` list (of the service, a source, a sink, a window or a
    /// partition) with its operator; a join side's `when` is a `filter`.
    Transform(Operator),
    /// `partition.assign-key`, or a join side's `key`.
    AssignKey,
    /// `partition.update-state`.
    UpdateState,
    /// `window.assign-timestamp`.
    AssignTimestamp,
    /// `window.flush`.
    Flush(FlushPer),
    /// `window.merge`.
    Merge,
}

/// One `run:` snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineCode {
    /// The service it belongs to.
    pub service: String,
    /// Where the step is declared, as in the plan's `origin` fields:
    /// `services.hot.transforms[0]`, `services.hot.partition.assign-key`,
    /// `services.hot.window.flush`.
    pub origin: String,
    /// What kind of step it is.
    pub site: InlineSite,
    /// The Rust source.
    pub code: String,
    /// Where the `run` value starts in the file (1-based line and column).
    pub start: (usize, usize),
    /// For each character of `code`, its place in the file; empty when it could not be
    /// worked out (then every place is `start`).
    chars: Vec<(usize, usize)>,
    /// For a `uses:` step, the package function: then `code`, `start` and places are in
    /// [`UsedFunction::file`].
    pub used: Option<UsedFunction>,
}

/// The package function a `uses:` step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedFunction {
    /// The package.
    pub package: PackageId,
    /// The function's name.
    pub function: String,
    /// The package's types (names unresolved), which the code sees instead of the dataflow's.
    pub types: BTreeMap<String, TypeDef>,
    /// The file holding the code: the package file or `src/<function>.rs`.
    pub file: PathBuf,
    /// The field holding the code in the package file (`functions.shout.run`); empty for a
    /// `src/` file.
    pub field: String,
}

impl InlineCode {
    /// The place in the dataflow file (1-based line and column) of the character at `line`
    /// and `column` (1-based, in characters) of [`InlineCode::code`]. A place outside the
    /// code, or in a snippet whose layout could not be followed, is [`InlineCode::start`].
    pub fn place(&self, line: usize, column: usize) -> (usize, usize) {
        let Some(index) = char_index(&self.code, line, column) else { return self.start };
        self.chars.get(index).copied().unwrap_or(self.start)
    }
}

/// The index in `code`'s characters of `line`:`column` (1-based), if it is in `code`.
pub(crate) fn char_index(code: &str, line: usize, column: usize) -> Option<usize> {
    let mut index = 0usize;
    for (number, text) in code.split('\n').enumerate() {
        let length = text.chars().count();
        if number + 1 == line {
            return (column >= 1 && column <= length + 1).then(|| index + column - 1);
        }
        index += length + 1;
    }
    None
}

/// Reads a dataflow file's model (syntax and field checks only, no validation) and lists
/// its `run:` snippets in file order.
///
/// # Errors
/// [`Diagnostics`] when the file is not YAML or does not fit the model.
pub fn inline_code(source: &str, file_name: &str) -> Result<(Dataflow, Vec<InlineCode>), Diagnostics> {
    inline_code_with(source, file_name, &PackagePaths::for_file(file_name))
}

/// Like [`inline_code`], with the package functions of `uses:` steps (found with
/// `packages`) listed as well.
///
/// # Errors
/// [`Diagnostics`] when the file is not YAML or does not fit the model, a package cannot be
/// found or read, or a `uses:` names no imported function of its step's operator.
pub fn inline_code_with(
    source: &str,
    file_name: &str,
    packages: &PackagePaths,
) -> Result<(Dataflow, Vec<InlineCode>), Diagnostics> {
    let (tree, problems) = node::parse(source);
    let mut findings: Vec<Finding> = problems
        .into_iter()
        .map(|problem| {
            Finding::new(problem.path, problem.message).at(crate::diagnostic::At::Pos(problem.pos))
        })
        .collect();
    let Some(tree) = tree else {
        return Err(diagnostics(findings, file_name, None));
    };
    let mut recovery = Recovery::default();
    let dataflow = recovery.run::<Dataflow>(&tree, &Path::root());
    findings.extend(recovery.findings);
    let dataflow = match dataflow {
        Some(dataflow) if findings.is_empty() => dataflow,
        _ => return Err(diagnostics(findings, file_name, Some(&tree))),
    };
    let (loaded, import_findings, package_diagnostics) =
        if dataflow.imports.is_empty() && !uses_any(&dataflow) {
            Default::default()
        } else {
            Packages::load(&dataflow, packages)
        };
    findings.extend(import_findings);
    let lines: Vec<Vec<char>> = source.split('\n').map(|line| line.chars().collect()).collect();
    let mut collector = Collector {
        tree: &tree,
        lines: &lines,
        dataflow: &dataflow,
        packages: &loaded,
        found: Vec::new(),
        findings,
    };
    for (name, service) in &dataflow.services {
        collector.service(name, service);
    }
    if !collector.findings.is_empty() || !package_diagnostics.is_empty() {
        let findings =
            collector.findings.into_iter().map(|f| f.into_diagnostic(file_name, Some(&tree))).collect();
        return Err(Diagnostics::with_others(findings, package_diagnostics));
    }
    let mut found = collector.found;
    // Snippets in file order; package functions after them, in the order of their steps.
    found.sort_by_key(|code| match code.used {
        None => (false, code.start),
        Some(_) => (true, (0, 0)),
    });
    Ok((dataflow, found))
}

/// Whether any step of the dataflow has `uses:`.
fn uses_any(dataflow: &Dataflow) -> bool {
    let steps = |steps: &[Step]| steps.iter().any(|step| step.uses.is_some());
    dataflow.services.values().any(|service| {
        service.sources.iter().any(|source| steps(&source.transforms))
            || steps(&service.transforms)
            || service.sinks.iter().any(|sink| steps(&sink.transforms))
            || service.partition.as_ref().is_some_and(|partition| steps(&partition.transforms))
            || service.window.as_ref().is_some_and(|window| {
                steps(&window.transforms) || window.partition.as_ref().is_some_and(|p| steps(&p.transforms))
            })
    })
}

/// Gathers the snippets of a document.
struct Collector<'a> {
    tree: &'a Node,
    lines: &'a [Vec<char>],
    dataflow: &'a Dataflow,
    packages: &'a Packages,
    found: Vec<InlineCode>,
    findings: Vec<Finding>,
}

impl Collector<'_> {
    fn service(&mut self, name: &str, service: &Service) {
        let at = Path::root().key("services").key(name);
        for (index, source) in service.sources.iter().enumerate() {
            self.steps(name, &source.transforms, &at.key("sources").index(index).key("transforms"));
        }
        self.steps(name, &service.transforms, &at.key("transforms"));
        if let Some(partition) = &service.partition {
            self.partition(name, partition, &at.key("partition"));
        }
        if let Some(join) = &service.join {
            for (side, field) in [(&join.left, "left"), (&join.right, "right")] {
                let at = at.key("join").key(field);
                if let Some(when) = &side.when {
                    self.add(name, at.key("when"), InlineSite::Transform(Operator::Filter), &when.run);
                }
                if let Some(key) = &side.key {
                    self.add(name, at.key("key"), InlineSite::AssignKey, &key.run);
                }
            }
        }
        if let Some(window) = &service.window {
            let at = at.key("window");
            if let Some(timestamp) = &window.assign_timestamp {
                self.add(name, at.key("assign-timestamp"), InlineSite::AssignTimestamp, &timestamp.run);
            }
            self.steps(name, &window.transforms, &at.key("transforms"));
            if let Some(partition) = &window.partition {
                self.partition(name, partition, &at.key("partition"));
            }
            if let Some(merge) = &window.merge {
                self.add(name, at.key("merge"), InlineSite::Merge, &merge.run);
            }
            if let Some(flush) = &window.flush {
                self.add(name, at.key("flush"), InlineSite::Flush(flush.per), &flush.run);
            }
        }
        for (index, sink) in service.sinks.iter().enumerate() {
            self.steps(name, &sink.transforms, &at.key("sinks").index(index).key("transforms"));
        }
    }

    fn partition(&mut self, service: &str, partition: &Partition, at: &Path) {
        self.add(service, at.key("assign-key"), InlineSite::AssignKey, &partition.assign_key.run);
        self.steps(service, &partition.transforms, &at.key("transforms"));
        if let Some(update) = &partition.update_state {
            self.add(service, at.key("update-state"), InlineSite::UpdateState, &update.run);
        }
    }

    fn steps(&mut self, service: &str, steps: &[Step], at: &Path) {
        for (index, step) in steps.iter().enumerate() {
            self.add(service, at.index(index), InlineSite::Transform(step.operator), &step.run);
            if let Some(name) = &step.uses {
                self.add_used(service, at.index(index), step.operator, name);
            }
        }
    }

    fn add_used(&mut self, service: &str, path: Path, operator: Operator, name: &str) {
        let at = path.key("uses");
        let (package, function) = match self.packages.lookup(self.dataflow, name) {
            Lookup::Found(package, function) => (package, function),
            Lookup::Broken => return,
            Lookup::Missing(_) | Lookup::Ambiguous(_) => {
                self.findings
                    .push(Finding::new(at, format!("function `{name}` is not imported from one package")));
                return;
            }
        };
        if function.operator != operator {
            self.findings.push(Finding::new(
                at,
                format!("`{name}` is a `{}` function, not `{}`", function.operator.name(), operator.name()),
            ));
            return;
        }
        self.found.push(InlineCode {
            service: service.to_owned(),
            origin: path.to_string(),
            site: InlineSite::Transform(operator),
            code: function.code.clone(),
            start: function.start,
            chars: function.chars.clone(),
            used: Some(UsedFunction {
                package: package.id.clone(),
                function: name.to_owned(),
                types: package.types.clone(),
                file: function.code_file.clone(),
                field: function.field.clone(),
            }),
        });
    }

    fn add(&mut self, service: &str, path: Path, site: InlineSite, run: &Option<String>) {
        let Some(code) = run else { return };
        let node = self.tree.find(&path.key("run"));
        let start = node.map_or((0, 0), |node| (node.pos.line, node.pos.column));
        let chars = node.map(|node| places(node, code, self.lines)).unwrap_or_default();
        self.found.push(InlineCode {
            service: service.to_owned(),
            origin: path.to_string(),
            site,
            code: code.clone(),
            start,
            chars,
            used: None,
        });
    }
}

fn diagnostics(findings: Vec<Finding>, file_name: &str, tree: Option<&Node>) -> Diagnostics {
    Diagnostics::new(findings.into_iter().map(|finding| finding.into_diagnostic(file_name, tree)).collect())
}

/// The place in the file of each character of the scalar `node`, whose value is `code`;
/// empty when the layout cannot be followed exactly (a folded block, an unusual escape).
pub(crate) fn places(node: &Node, code: &str, lines: &[Vec<char>]) -> Vec<(usize, usize)> {
    let Pos { line, column } = node.pos;
    let at =
        |line: usize, column: usize| lines.get(line.wrapping_sub(1))?.get(column.wrapping_sub(1)).copied();
    let found = match at(line, column) {
        Some('"') => quoted(line, column + 1, lines, '"'),
        Some('\'') => quoted(line, column + 1, lines, '\''),
        Some(_) => verbatim(line, column, lines, code),
        None => Vec::new(),
    };
    if found.len() == code.chars().count() { found } else { Vec::new() }
}

/// A plain scalar on one line, or a literal block (`|`), whose node starts at its first
/// character: line `i` of `code` is file line `line + i` from `column` on. Checked against
/// the file, so a folded block (`>`), whose lines are joined, is not mistaken for one.
fn verbatim(line: usize, column: usize, lines: &[Vec<char>], code: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (offset, text) in code.split('\n').enumerate() {
        let number = line + offset;
        let in_file = lines.get(number - 1).map(|chars| chars.get(column - 1..).unwrap_or_default());
        let matches = match in_file {
            Some(in_file) => {
                text.is_empty() || in_file.iter().copied().take(text.chars().count()).eq(text.chars())
            }
            None => text.is_empty(),
        };
        if !matches {
            return Vec::new();
        }
        // Each character, then the line break after it.
        for index in 0..=text.chars().count() {
            found.push((number, column + index));
        }
    }
    found.truncate(code.chars().count());
    found
}

/// A quoted scalar starting at `line`:`column` (just after the opening `quote`): each
/// character it decodes to, at the place of the text that encodes it.
fn quoted(line: usize, column: usize, lines: &[Vec<char>], quote: char) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let (mut row, mut col) = (line - 1, column - 1);
    loop {
        let Some(text) = lines.get(row) else { return Vec::new() };
        let Some(&c) = text.get(col) else {
            // A line break inside quotes folds to a space, or to line breaks when blank
            // lines follow; the next line's indentation is skipped.
            let mut blank = 0;
            row += 1;
            while lines.get(row).is_some_and(|next| next.iter().all(|c| c.is_whitespace())) {
                found.push((row + 1, 1));
                blank += 1;
                row += 1;
            }
            if blank == 0 {
                found.push((row, text.len() + 1));
            }
            let Some(next) = lines.get(row) else { return Vec::new() };
            col = next.iter().take_while(|c| c.is_whitespace()).count();
            continue;
        };
        let here = (row + 1, col + 1);
        match (c, quote) {
            ('"', '"') => return found,
            ('\'', '\'') if text.get(col + 1) == Some(&'\'') => {
                found.push(here);
                col += 2;
            }
            ('\'', '\'') => return found,
            ('\\', '"') => {
                let width = match text.get(col + 1) {
                    Some('x') => 4,
                    Some('u') => 6,
                    Some('U') => 10,
                    Some(_) => 2,
                    None => return Vec::new(),
                };
                found.push(here);
                col += width;
            }
            _ => {
                found.push(here);
                col += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "apiVersion: 0.5.0\nmeta: {name: m}\n";

    fn snippets(services: &str) -> Vec<InlineCode> {
        let source = format!("{HEAD}{services}");
        inline_code(&source, "f.yaml").map(|(_, found)| found).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_place_a_snippet_can_be_is_found_in_file_order() {
        let found = snippets(
            "services:
  s:
    sources: [{type: topic, id: a, transforms: [{operator: map, run: 'fn a(v: u32) -> Result<u32> { Ok(v) }'}]}]
    transforms:
      - {operator: filter, cel: 'true'}
      - {operator: filter, run: \"fn b(v: u32) -> Result<bool> { Ok(v > 1) }\"}
    window:
      tumbling: {duration: 1s}
      assign-timestamp: {run: x}
      partition:
        assign-key: {run: y}
        update-state: {run: z}
      flush: {per: window, run: w}
    sinks: [{type: topic, id: b}]
",
        );
        let listed: Vec<(&str, InlineSite)> =
            found.iter().map(|code| (code.origin.as_str(), code.site)).collect();
        assert_eq!(
            listed,
            vec![
                ("services.s.sources[0].transforms[0]", InlineSite::Transform(Operator::Map)),
                ("services.s.transforms[1]", InlineSite::Transform(Operator::Filter)),
                ("services.s.window.assign-timestamp", InlineSite::AssignTimestamp),
                ("services.s.window.partition.assign-key", InlineSite::AssignKey),
                ("services.s.window.partition.update-state", InlineSite::UpdateState),
                ("services.s.window.flush", InlineSite::Flush(FlushPer::Window)),
            ]
        );
        assert!(found.iter().all(|code| code.service == "s"));
        assert_eq!(found[1].start, (8, 33));
    }

    #[test]
    fn a_join_sides_when_and_key_are_a_filter_and_a_key() {
        let found = snippets(
            "services:
  j:
    sources: [{type: topic, id: a}]
    join:
      left: {name: l, when: {run: p}, key: {run: q}}
      right: {name: r, key: {cel: value}}
      emit: {cel: l}
    sinks: [{type: topic, id: b}]
",
        );
        let listed: Vec<(&str, InlineSite)> =
            found.iter().map(|code| (code.origin.as_str(), code.site)).collect();
        assert_eq!(
            listed,
            vec![
                ("services.j.join.left.when", InlineSite::Transform(Operator::Filter)),
                ("services.j.join.left.key", InlineSite::AssignKey),
            ]
        );
    }

    #[test]
    fn places_in_a_literal_block_map_to_file_lines() {
        let found = snippets(
            "services:
  s:
    transforms:
      - operator: map
        run: |
          fn f(v: u32) -> Result<u32> {
              Ok(v + 1)
          }
",
        );
        let code = &found[0];
        assert_eq!(code.code.lines().nth(1), Some("    Ok(v + 1)"));
        assert_eq!(code.place(1, 1), (8, 11));
        assert_eq!(code.place(2, 5), (9, 15));
        assert_eq!(code.place(3, 1), (10, 11));
        assert_eq!(code.place(40, 1), code.start);
    }

    #[test]
    fn places_in_quoted_snippets_account_for_escapes() {
        let found = snippets(
            "services:
  s:
    transforms:
      - {operator: map, run: \"fn f(v: String) -> Result<String> { Ok(format!(\\\"{v}!\\\")) }\"}
      - {operator: map, run: 'fn g(v: String) -> Result<String> { Ok(v + ''x'') }'}
",
        );
        let (double, single) = (&found[0], &found[1]);
        let ok = double.code.find("Ok").unwrap_or_default();
        assert_eq!(double.place(1, ok + 1), (6, 31 + ok));
        let after_escape = double.code.find("{v}").unwrap_or_default();
        // One escape (`\"`, two characters for one) comes before `{v}`.
        assert_eq!(double.place(1, after_escape + 1), (6, 31 + after_escape + 1));
        let x = single.code.find("x'").unwrap_or_default();
        assert_eq!(single.place(1, x + 1), (7, 31 + x + 1));
    }

    #[test]
    fn a_file_that_does_not_fit_the_model_is_refused_with_its_place() {
        let error = inline_code(&format!("{HEAD}services: {{s: {{sorces: []}}}}\n"), "f.yaml")
            .expect_err("unknown field");
        assert!(error.to_string().starts_with("f.yaml:3:"), "{error}");
        assert!(inline_code("a: [", "f.yaml").is_err());
    }
}

//! The `types` section: every reference names a declared type, no name shadows a primitive,
//! no type contains itself.

use super::{Validator, extend};
use crate::diagnostic::Finding;
use crate::model::{Primitive, TypeDef};
use crate::yaml::Path;

impl Validator<'_> {
    /// Checks every declared type and keeps those that resolve in `self.types`.
    pub(super) fn types(&mut self) {
        let dataflow = self.dataflow;
        for (name, def) in &dataflow.types {
            let path = Path::root().key("types").key(name);
            if self.is_broken(&path) {
                continue;
            }
            if Primitive::from_name(name).is_some() || name == "object" || name == "list" {
                self.report(
                    Finding::new(
                        path,
                        format!("type name `{name}` is reserved for a built-in type; pick another"),
                    )
                    .at_key(),
                );
                continue;
            }
            let mut known = true;
            for (at, reference) in def.references() {
                if !dataflow.types.contains_key(reference) {
                    known = false;
                    if !self.is_broken(&Path::root().key("types").key(reference)) {
                        let finding = self.unknown_type(reference, extend(&path, &at));
                        self.report(finding);
                    }
                }
            }
            if !known {
                continue;
            }
            // Resolve by name, so a cycle is described from this type's point of view.
            match TypeDef::Named(name.clone()).resolve(&dataflow.types) {
                Ok(resolved) => {
                    self.types.insert(name.clone(), resolved);
                }
                Err(reason) => self.report(Finding::new(path, reason).at_key()),
            }
        }
    }
}

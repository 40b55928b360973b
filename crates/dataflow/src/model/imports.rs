//! `imports` and `dev.imports`: functions from packages, as in SDF.
//!
//! ```yaml
//! imports:
//!   - pkg: acme/text-utils@0.1.0
//!     functions: [{name: shout}, {name: is-long}]
//! dev:
//!   imports:
//!     - pkg: acme/text-utils@0.1.0
//!       path: ./packages/text-utils
//! ```
//!
//! A step then runs an imported function with `uses: shout`. Where a package is found is
//! [`crate::PackagePaths`]'s business; what a package file holds is [`crate::package`].

use serde::{Deserialize, Serialize};

/// One entry of `imports`: a package and what is taken from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Import {
    /// The package: `<namespace>/<name>@<version>`.
    pub pkg: String,
    /// The functions used from it. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<ImportedName>,
    /// Types taken from it (SDF); refused by validation in this version. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<ImportedName>,
    /// States taken from it (SDF); refused by validation in this version. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<ImportedName>,
}

/// `{name: <item>}` in an import's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ImportedName {
    /// The item's name in the package.
    pub name: String,
}

/// `dev`: settings for developing a dataflow next to its packages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Dev {
    /// Local directories to take packages from instead of the package search path. Default:
    /// none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<DevImport>,
}

/// One entry of `dev.imports`: where a package's directory is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DevImport {
    /// The package, as written in `imports`: `<namespace>/<name>@<version>`.
    pub pkg: String,
    /// Its directory (holding `package.yaml`), relative to the dataflow file.
    pub path: String,
}

/// A package id, `<namespace>/<name>@<version>`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageId {
    /// The namespace.
    pub namespace: String,
    /// The name.
    pub name: String,
    /// The version.
    pub version: String,
}

impl PackageId {
    /// Parses `<namespace>/<name>@<version>`; each part is letters, digits, `-`, `_` and
    /// (the version) `.`.
    ///
    /// # Errors
    /// What is wrong with `text`.
    pub fn parse(text: &str) -> Result<PackageId, String> {
        let shape = "write packages as `<namespace>/<name>@<version>`, e.g. `acme/text-utils@0.1.0`";
        let (path, version) =
            text.split_once('@').ok_or_else(|| format!("`{text}` has no `@<version>`; {shape}"))?;
        let (namespace, name) =
            path.split_once('/').ok_or_else(|| format!("`{text}` has no `<namespace>/`; {shape}"))?;
        let part = |part: &str, what: &str, extra: &[char]| {
            let good = !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || extra.contains(&c))
                && !part.starts_with('.');
            if good {
                Ok(part.to_owned())
            } else {
                Err(format!("`{text}` has an invalid {what} `{part}`; {shape}"))
            }
        };
        Ok(PackageId {
            namespace: part(namespace, "namespace", &[])?,
            name: part(name, "name", &[])?,
            version: part(version, "version", &['.', '+'])?,
        })
    }
}

impl std::fmt::Display for PackageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@{}", self.namespace, self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_are_namespace_name_and_version() {
        let id = PackageId::parse("acme/text-utils@0.1.0").expect("valid");
        assert_eq!(
            (id.namespace.as_str(), id.name.as_str(), id.version.as_str()),
            ("acme", "text-utils", "0.1.0")
        );
        assert_eq!(id.to_string(), "acme/text-utils@0.1.0");
        for broken in
            ["acme/text-utils", "text-utils@0.1", "/x@1", "a/@1", "a/b@", "a/b/c@1", "a/b@..", "a/b@1 2"]
        {
            assert!(PackageId::parse(broken).is_err(), "{broken}");
        }
    }
}

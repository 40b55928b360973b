//! `topics`: the logs services read and write, with their names, partition counts and schemas.

use serde::{Deserialize, Serialize};

use super::settings::Converter;

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Topic {
    /// The topic's name in the log. Default: the topic's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How many partitions to create it with. Default: 1.
    #[serde(default = "one")]
    pub partitions: u32,
    /// What its records hold.
    pub schema: Schema,
}

fn one() -> u32 {
    1
}

/// A topic's record schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Schema {
    /// The key's type. Default: none (records are unkeyed or keys are opaque bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<TypeRef>,
    /// The value's type and encoding.
    pub value: ValueSchema,
}

/// A reference to a type: a primitive (`string`, `u64`...) or a name declared in `types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TypeRef {
    /// The type's name.
    #[serde(rename = "type")]
    pub type_name: String,
}

/// A topic's value schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ValueSchema {
    /// The value's type: a primitive or a name declared in `types`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The value's encoding. Default: `config.converter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converter: Option<Converter>,
}

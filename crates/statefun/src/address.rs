//! Names of things: [`TypeName`] (`namespace/name`), [`FunctionType`] and [`Address`]
//! (a function type plus an instance id).
//!
//! Parsing follows the Statefun SDKs: a typename splits at its *last* `/`, so
//! `type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord` has the namespace
//! `type.googleapis.com`. An address is written `namespace/name/id`; its namespace and name hold
//! no `/`, its id may (`example/greeter/users/7` has the id `users/7`).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::proto::reqreply;

/// Why a string is not a typename, function type or address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// No `/` separates the namespace from the name.
    #[error("`{0}` has no `/`; expected `namespace/name`")]
    MissingSlash(String),
    /// The part before the `/` is empty.
    #[error("`{0}` has an empty namespace; expected `namespace/name`")]
    EmptyNamespace(String),
    /// The part after the `/` is empty.
    #[error("`{0}` has an empty name; expected `namespace/name`")]
    EmptyName(String),
    /// An address without an id.
    #[error("`{0}` has no id; expected `namespace/name/id`")]
    MissingId(String),
}

/// A typename, `namespace/name`: the name of a value type, an egress or an ingress.
///
/// The text is shared: a clone (every message carries its target's type) costs a reference
/// count, not a copy.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TypeName {
    /// `namespace/name`.
    whole: Arc<str>,
    /// Where the last `/` of `whole` is.
    slash: usize,
}

/// The typenames made last on a thread: the protocol's messages name the same few types
/// again and again, and a hit shares the text instead of formatting and allocating it.
#[derive(Default)]
struct Recent {
    names: [Option<TypeName>; 4],
    next: usize,
}

impl Recent {
    fn find(&self, namespace: &str, name: &str) -> Option<TypeName> {
        self.names
            .iter()
            .flatten()
            .find(|recent| recent.namespace() == namespace && recent.name() == name)
            .cloned()
    }

    fn keep(&mut self, made: &TypeName) {
        self.names[self.next] = Some(made.clone());
        self.next = (self.next + 1) % self.names.len();
    }
}

thread_local! {
    static RECENT: std::cell::RefCell<Recent> = std::cell::RefCell::default();
}

impl TypeName {
    /// A typename from its two parts.
    ///
    /// # Errors
    /// [`NameError`] when a part is empty or the name holds a `/`.
    pub fn new(namespace: &str, name: &str) -> Result<Self, NameError> {
        if let Some(recent) = RECENT.with_borrow(|recent| recent.find(namespace, name)) {
            return Ok(recent);
        }
        let made = Self::make(namespace, name)?;
        RECENT.with_borrow_mut(|recent| recent.keep(&made));
        Ok(made)
    }

    fn make(namespace: &str, name: &str) -> Result<Self, NameError> {
        let whole = format!("{namespace}/{name}");
        if namespace.is_empty() {
            return Err(NameError::EmptyNamespace(whole));
        }
        if name.is_empty() || name.contains('/') {
            return Err(NameError::EmptyName(whole));
        }
        Ok(Self { slash: namespace.len(), whole: whole.into() })
    }

    /// The part before the last `/`.
    pub fn namespace(&self) -> &str {
        &self.whole[..self.slash]
    }

    /// The part after the last `/`.
    pub fn name(&self) -> &str {
        &self.whole[self.slash + 1..]
    }

    /// The whole typename, `namespace/name`.
    pub fn as_str(&self) -> &str {
        &self.whole
    }
}

impl fmt::Debug for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeName").field("namespace", &self.namespace()).field("name", &self.name()).finish()
    }
}

impl Ord for TypeName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.namespace(), self.name()).cmp(&(other.namespace(), other.name()))
    }
}

impl PartialOrd for TypeName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for TypeName {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        let (namespace, name) =
            text.rsplit_once('/').ok_or_else(|| NameError::MissingSlash(text.to_owned()))?;
        if namespace.is_empty() {
            return Err(NameError::EmptyNamespace(text.to_owned()));
        }
        if name.is_empty() {
            return Err(NameError::EmptyName(text.to_owned()));
        }
        Ok(Self { slash: namespace.len(), whole: text.into() })
    }
}

impl TryFrom<String> for TypeName {
    type Error = NameError;

    fn try_from(text: String) -> Result<Self, NameError> {
        text.parse()
    }
}

impl From<TypeName> for String {
    fn from(name: TypeName) -> String {
        name.as_str().to_owned()
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.whole)
    }
}

/// A function type, `namespace/name` (`example/greeter`): what an endpoint serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FunctionType(TypeName);

impl FunctionType {
    /// A function type from its two parts.
    ///
    /// # Errors
    /// [`NameError`] when a part is empty or the name holds a `/`.
    pub fn new(namespace: &str, name: &str) -> Result<Self, NameError> {
        TypeName::new(namespace, name).map(Self)
    }

    /// The namespace (`example` in `example/greeter`).
    pub fn namespace(&self) -> &str {
        self.0.namespace()
    }

    /// The name (`greeter` in `example/greeter`).
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// The same two parts as a [`TypeName`].
    pub fn as_type_name(&self) -> &TypeName {
        &self.0
    }
}

impl FromStr for FunctionType {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        text.parse().map(Self)
    }
}

impl TryFrom<String> for FunctionType {
    type Error = NameError;

    fn try_from(text: String) -> Result<Self, NameError> {
        text.parse()
    }
}

impl From<FunctionType> for String {
    fn from(function_type: FunctionType) -> String {
        function_type.to_string()
    }
}

impl fmt::Display for FunctionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A function instance: its type and its id. Written `namespace/name/id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address {
    /// The function type.
    pub function_type: FunctionType,
    /// The instance id; any non-empty string.
    pub id: String,
}

impl Address {
    /// An address from a function type and an id.
    ///
    /// # Errors
    /// [`NameError::MissingId`] when `id` is empty.
    pub fn new(function_type: FunctionType, id: impl Into<String>) -> Result<Self, NameError> {
        let id = id.into();
        if id.is_empty() {
            return Err(NameError::MissingId(format!("{function_type}/")));
        }
        Ok(Self { function_type, id })
    }

    /// The address a protocol message names.
    ///
    /// # Errors
    /// [`NameError`] when a part is empty.
    pub fn from_proto(address: &reqreply::Address) -> Result<Self, NameError> {
        let function_type = FunctionType::new(&address.namespace, &address.r#type)?;
        Self::new(function_type, address.id.clone())
    }

    /// The protocol form.
    pub fn to_proto(&self) -> reqreply::Address {
        reqreply::Address {
            namespace: self.function_type.namespace().to_owned(),
            r#type: self.function_type.name().to_owned(),
            id: self.id.clone(),
        }
    }
}

impl FromStr for Address {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Self, NameError> {
        let (namespace, rest) =
            text.split_once('/').ok_or_else(|| NameError::MissingSlash(text.to_owned()))?;
        let (name, id) = rest.split_once('/').ok_or_else(|| NameError::MissingId(text.to_owned()))?;
        if namespace.is_empty() {
            return Err(NameError::EmptyNamespace(text.to_owned()));
        }
        if name.is_empty() {
            return Err(NameError::EmptyName(text.to_owned()));
        }
        if id.is_empty() {
            return Err(NameError::MissingId(text.to_owned()));
        }
        Ok(Self { function_type: FunctionType::new(namespace, name)?, id: id.to_owned() })
    }
}

impl TryFrom<String> for Address {
    type Error = NameError;

    fn try_from(text: String) -> Result<Self, NameError> {
        text.parse()
    }
}

impl From<Address> for String {
    fn from(address: Address) -> String {
        address.to_string()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.function_type, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typenames_made_again_share_their_text_and_bad_ones_stay_errors() {
        let first = TypeName::new("example", "greeter").unwrap();
        let again = TypeName::new("example", "greeter").unwrap();
        assert!(Arc::ptr_eq(&first.whole, &again.whole));
        assert_eq!(again.as_str(), "example/greeter");
        for (namespace, name) in [("a", "b"), ("c", "d"), ("e", "f"), ("g", "h"), ("example", "greeter")] {
            let made = TypeName::new(namespace, name).unwrap();
            assert_eq!((made.namespace(), made.name()), (namespace, name));
        }
        let nested = TypeName::new("a/b", "c").unwrap();
        assert_eq!(nested.namespace(), "a/b");
        assert!(TypeName::new("a", "b/c").is_err(), "not the cached `a/b` + `c`");
        assert!(TypeName::new("", "c").is_err());
        assert!(TypeName::new("a", "").is_err());
    }

    #[test]
    fn typenames_split_at_the_last_slash_like_the_sdks() {
        let name: TypeName =
            "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord".parse().unwrap();
        assert_eq!(name.namespace(), "type.googleapis.com");
        assert_eq!(name.name(), "io.statefun.sdk.egress.KafkaProducerRecord");
        let nested: TypeName = "a/b/c".parse().unwrap();
        assert_eq!((nested.namespace(), nested.name()), ("a/b", "c"));
        assert_eq!(nested.to_string(), "a/b/c");
    }

    #[test]
    fn bad_typenames_say_what_is_wrong() {
        assert_eq!("greeter".parse::<TypeName>(), Err(NameError::MissingSlash("greeter".into())));
        assert_eq!("/greeter".parse::<FunctionType>(), Err(NameError::EmptyNamespace("/greeter".into())));
        assert_eq!("example/".parse::<FunctionType>(), Err(NameError::EmptyName("example/".into())));
        assert_eq!(
            "greeter".parse::<TypeName>().unwrap_err().to_string(),
            "`greeter` has no `/`; expected `namespace/name`"
        );
    }

    #[test]
    fn addresses_round_trip_and_ids_may_hold_slashes() {
        let address: Address = "example/greeter/users/7".parse().unwrap();
        assert_eq!(address.function_type.to_string(), "example/greeter");
        assert_eq!(address.id, "users/7");
        assert_eq!(address.to_string(), "example/greeter/users/7");
        assert_eq!(Address::from_proto(&address.to_proto()).unwrap(), address);
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        assert_eq!("example/greeter".parse::<Address>(), Err(NameError::MissingId("example/greeter".into())));
        assert_eq!(
            "example/greeter/".parse::<Address>(),
            Err(NameError::MissingId("example/greeter/".into()))
        );
        assert_eq!("example//x".parse::<Address>(), Err(NameError::EmptyName("example//x".into())));
        assert_eq!("example".parse::<Address>(), Err(NameError::MissingSlash("example".into())));
        let empty = reqreply::Address { namespace: "ns".into(), r#type: String::new(), id: "1".into() };
        assert!(Address::from_proto(&empty).is_err());
    }

    #[test]
    fn addresses_serialize_as_their_text() {
        let address: Address = "ns/f/1".parse().unwrap();
        let json = serde_json::to_string(&address).unwrap();
        assert_eq!(json, "\"ns/f/1\"");
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
        assert!(serde_json::from_str::<Address>("\"ns/f\"").is_err());
    }
}

//! [`StateSpec`]: a state a function declares (its name, value type and expiry), as the
//! state handshake registers it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::proto::reqreply::from_function::{
    ExpirationSpec, PersistedValueSpec, expiration_spec::ExpireMode,
};

/// A state declared by a function type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSpec {
    /// The state's name.
    pub name: String,
    /// The typename of its values; a mutation of another type is refused.
    pub typename: String,
    /// When the value expires.
    pub expiration: Expiration,
}

/// When a state value expires. Eddy records it; expiring values is the engine's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    /// Never.
    Never,
    /// This long after the last write.
    AfterWrite(Duration),
    /// This long after the last invocation of the address.
    AfterInvoke(Duration),
}

impl StateSpec {
    /// The spec a function sent in its `IncompleteInvocationContext`.
    pub fn from_proto(spec: &PersistedValueSpec) -> Self {
        let expiration = match spec.expiration_spec {
            None => Expiration::Never,
            Some(ExpirationSpec { mode, expire_after_millis }) => {
                let after = Duration::from_millis(u64::try_from(expire_after_millis).unwrap_or(0));
                match ExpireMode::try_from(mode) {
                    Ok(ExpireMode::AfterWrite) => Expiration::AfterWrite(after),
                    Ok(ExpireMode::AfterInvoke) => Expiration::AfterInvoke(after),
                    Ok(ExpireMode::None) | Err(_) => Expiration::Never,
                }
            }
        };
        Self { name: spec.state_name.clone(), typename: spec.type_typename.clone(), expiration }
    }

    /// The spec as a function sends it in its `IncompleteInvocationContext`.
    pub fn to_proto(&self) -> PersistedValueSpec {
        let expiration_spec = match self.expiration {
            Expiration::Never => None,
            Expiration::AfterWrite(after) | Expiration::AfterInvoke(after) => Some(ExpirationSpec {
                mode: if matches!(self.expiration, Expiration::AfterWrite(_)) {
                    ExpireMode::AfterWrite as i32
                } else {
                    ExpireMode::AfterInvoke as i32
                },
                expire_after_millis: i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
            }),
        };
        PersistedValueSpec {
            state_name: self.name.clone(),
            expiration_spec,
            type_typename: self.typename.clone(),
        }
    }
}

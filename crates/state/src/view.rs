//! [`View`]: bytes read from the store, shared with its cache rather than copied.

use std::{fmt, hash::Hash, ops::Deref};

/// Bytes read from the store: a key or a value. It derefs to `[u8]`; reading it does not
/// copy the bytes out of the storage engine's buffer (the buffer is reference-counted, or
/// inline for up to 20 bytes). Use [`to_vec`](slice::to_vec) or `Vec::from` for an owned copy.
#[derive(Clone)]
pub struct View {
    slice: fjall::Slice,
    /// Where the visible bytes start in `slice` (past a key's service and state names).
    start: usize,
}

impl View {
    /// The bytes of `slice` from `start` on.
    pub(crate) fn new(slice: fjall::Slice, start: usize) -> View {
        let start = start.min(slice.len());
        View { slice, start }
    }

    /// All of `slice`.
    pub(crate) fn whole(slice: fjall::Slice) -> View {
        View { slice, start: 0 }
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.slice[self.start..]
    }
}

impl Deref for View {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for View {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl PartialEq for View {
    fn eq(&self, other: &View) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for View {}

impl Hash for View {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq<[u8]> for View {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<&[u8]> for View {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_bytes() == *other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for View {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for View {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == *other
    }
}

impl PartialEq<Vec<u8>> for View {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_bytes() == other.as_slice()
    }
}

impl From<View> for Vec<u8> {
    fn from(view: View) -> Vec<u8> {
        view.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_shows_the_bytes_after_its_start() {
        let view = View::new(fjall::Slice::from(&b"prefix:key"[..]), 7);
        assert_eq!(view, b"key");
        assert_eq!(&*view, b"key");
        assert_eq!(format!("{view:?}"), "b\"key\"");
        assert_eq!(Vec::from(view), b"key".to_vec());
    }

    #[test]
    fn a_start_past_the_end_gives_an_empty_view() {
        assert!(View::new(fjall::Slice::from(&b"ab"[..]), 5).is_empty());
    }

    #[test]
    fn debug_escapes_non_ascii_bytes() {
        assert_eq!(
            format!("{:?}", View::whole(fjall::Slice::from(&[0u8, b'"', 200][..]))),
            r#"b"\x00\"\xc8""#
        );
    }
}

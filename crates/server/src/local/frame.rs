//! Frames: `length:u32 kind:u8 body`, read with a hard size cap and written in one piece.

use std::io::{self, Read, Write};

/// The largest frame (kind byte and body) either end accepts: room for one batch of the
/// log's largest size plus the framing of its records.
pub const MAX_FRAME_BYTES: usize = eddy_log::MAX_BATCH_BYTES + (4 << 20);

/// Body bytes reserved up front when a frame starts; larger bodies grow as their bytes
/// actually arrive, so a length that lies costs nothing.
const PREALLOC_BYTES: usize = 16 << 20;

/// What a frame's body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A JSON message: a request or a reply.
    Json = 1,
    /// Records of one partition.
    Records = 2,
    /// Entries of a state.
    Entries = 3,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Json),
            2 => Some(Kind::Records),
            3 => Some(Kind::Entries),
            _ => None,
        }
    }
}

/// One frame as read.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) kind: Kind,
    pub(crate) body: Vec<u8>,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The length prefix is zero or over the cap.
    #[error("frame length {0} is out of range (1 to {MAX_FRAME_BYTES} bytes)")]
    Length(u32),
    /// The kind byte is not one of ours.
    #[error("unknown frame kind {0}")]
    Kind(u8),
    /// The connection closed inside a frame.
    #[error("the connection closed in the middle of a frame")]
    Truncated,
}

/// Reads the next frame; `None` if the connection closed cleanly before it.
pub(crate) fn read_frame(input: &mut impl Read) -> Result<Option<Frame>, FrameError> {
    let mut prefix = [0u8; 5];
    let mut filled = 0;
    while filled < prefix.len() {
        match input.read(&mut prefix[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
        if filled >= 4 {
            let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
            if len == 0 || len as usize > MAX_FRAME_BYTES {
                return Err(FrameError::Length(len));
            }
        }
    }
    let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    let kind = Kind::from_byte(prefix[4]).ok_or(FrameError::Kind(prefix[4]))?;
    let body_len = len - 1;
    let mut body = Vec::with_capacity(body_len.min(PREALLOC_BYTES));
    input.take(body_len as u64).read_to_end(&mut body)?;
    if body.len() < body_len {
        return Err(FrameError::Truncated);
    }
    Ok(Some(Frame { kind, body }))
}

/// A frame built in memory and written with one call.
#[derive(Debug)]
pub(crate) struct FrameBuf {
    buf: Vec<u8>,
}

impl FrameBuf {
    /// An empty frame of `kind`.
    pub(crate) fn new(kind: Kind) -> FrameBuf {
        let mut frame = FrameBuf { buf: Vec::new() };
        frame.restart(kind);
        frame
    }

    /// Empties the frame (keeping its memory) and makes it a frame of `kind`.
    pub(crate) fn restart(&mut self, kind: Kind) {
        self.buf.clear();
        self.buf.extend_from_slice(&[0, 0, 0, 0, kind as u8]);
    }

    /// The body, to append to.
    pub(crate) fn body(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Bytes of body so far.
    pub(crate) fn body_len(&self) -> usize {
        self.buf.len() - 5
    }

    /// Writes the frame.
    ///
    /// # Errors
    /// `InvalidInput` if the frame is over [`MAX_FRAME_BYTES`]; errors of `out`.
    pub(crate) fn write_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        let len = self.buf.len() - 4;
        if len > MAX_FRAME_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a frame of {len} bytes is over the limit of {MAX_FRAME_BYTES}"),
            ));
        }
        self.buf[..4].copy_from_slice(&(len as u32).to_le_bytes());
        out.write_all(&self.buf)
    }
}

/// Writes `message` as a JSON frame.
pub(crate) fn write_json(out: &mut impl Write, message: &impl serde::Serialize) -> io::Result<()> {
    let mut frame = FrameBuf::new(Kind::Json);
    serde_json::to_writer(frame.body(), message).map_err(io::Error::from)?;
    frame.write_to(out)
}

/// Appends `value` little-endian.
pub(crate) fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends `value` little-endian.
pub(crate) fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends `bytes` after their length as a u32. (Nothing in a frame comes near 4 GiB:
/// frames are capped far below, and [`FrameBuf::write_to`] refuses a larger one.)
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(bytes);
}

/// Reads a frame body front to back; every read checks that the bytes are there.
#[derive(Debug, Clone)]
pub(crate) struct Input<'a> {
    rest: &'a [u8],
}

/// A body that ends early or holds an impossible length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed {0} frame")]
pub(crate) struct Malformed(pub(crate) &'static str);

impl<'a> Input<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Input<'a> {
        Input { rest: body }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The first `len` bytes not yet read (at most all of them), without reading them.
    pub(crate) fn prefix(&self, len: usize) -> &'a [u8] {
        &self.rest[..len.min(self.rest.len())]
    }

    pub(crate) fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        if self.rest.len() < len {
            return Err(Malformed(what));
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Malformed> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Malformed> {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(self.take(8, what)?);
        Ok(u64::from_le_bytes(bytes))
    }

    /// A u32 length and that many bytes.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], Malformed> {
        let len = self.u32(what)? as usize;
        self.take(len, what)
    }
}

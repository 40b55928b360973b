//! Input that breaks the protocol gets an error reply or a closed connection, never a
//! panic, a hang or a large allocation; the server goes on serving others.

use proptest::prelude::*;

use super::{Served, drain, raw_frame, read_reply, write_raw};
use crate::local::{MAX_FRAME_BYTES, wire::Reply};

/// Sends `bytes` on a fresh connection (after the handshake if `hello`) and returns the
/// error message the server answered with before closing.
fn refused(served: &Served, hello: bool, bytes: &[u8]) -> String {
    let mut stream = served.raw(hello);
    write_raw(&mut stream, bytes);
    let reply = read_reply(&mut stream);
    let Some(Reply::Error { message }) = reply else { panic!("expected an error reply, got {reply:?}") };
    assert!(read_reply(&mut stream).is_none(), "the connection should be closed after: {message}");
    message
}

/// Opens a produce stream on topic `t` and returns the connection.
fn producing(served: &Served) -> std::os::unix::net::UnixStream {
    let mut stream = served.raw(true);
    write_raw(&mut stream, &raw_frame(1, br#"{"op":"produce","topic":"t","partition":null}"#));
    assert!(matches!(read_reply(&mut stream), Some(Reply::ProduceReady { partitions: 1 })));
    stream
}

fn served_with_topic() -> Served {
    let served = Served::new();
    served.client().create_topic("t", &Default::default()).unwrap();
    served
}

#[test]
fn frame_lengths_out_of_range_are_refused_before_any_body_is_read() {
    let served = Served::new();
    assert!(refused(&served, true, &0u32.to_le_bytes()).contains("frame length 0 is out of range"));
    // No body follows: the server must answer from the length alone.
    let message = refused(&served, true, &u32::MAX.to_le_bytes());
    assert!(message.contains("frame length 4294967295 is out of range"), "{message}");
    let just_over = (MAX_FRAME_BYTES as u32 + 1).to_le_bytes();
    assert!(refused(&served, false, &just_over).contains("out of range"));
    served.shutdown();
}

#[test]
fn unknown_kinds_garbage_json_and_unknown_requests_are_refused() {
    let served = Served::new();
    assert!(refused(&served, true, &raw_frame(9, b"{}")).contains("unknown frame kind 9"));
    assert!(refused(&served, true, &raw_frame(1, b"\xff\xfe not json")).contains("unreadable message"));
    let message = refused(&served, true, &raw_frame(1, br#"{"op":"format-disk"}"#));
    assert!(message.contains("unknown variant `format-disk`"), "{message}");
    assert!(refused(&served, true, &raw_frame(1, br#"{"op":"create-topic"}"#)).contains("missing field"));
    assert!(
        refused(&served, false, &raw_frame(1, br#"{"op":"list-topics"}"#)).contains("must start with hello")
    );
    assert!(refused(&served, true, &raw_frame(2, &[0; 16])).contains("expected a request"));
    assert!(
        refused(&served, true, &raw_frame(1, br#"{"op":"end"}"#)).contains("end outside a produce stream")
    );
    served.shutdown();
}

#[test]
fn a_truncated_frame_closes_the_connection() {
    let served = Served::new();
    let mut stream = served.raw(true);
    let mut bytes = raw_frame(1, br#"{"op":"list-topics"}"#);
    bytes.truncate(10);
    write_raw(&mut stream, &bytes);
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let rest = drain(&mut stream);
    assert!(rest.is_empty() || String::from_utf8_lossy(&rest).contains("middle of a frame"));
    assert!(served.client().topics().is_ok());
    served.shutdown();
}

#[test]
fn malformed_records_in_a_produce_stream_are_refused_and_nothing_is_written() {
    let served = served_with_topic();
    let header = |count: u32| {
        let mut body = 0u32.to_le_bytes().to_vec();
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(&count.to_le_bytes());
        body
    };
    let record = |key_len: u32, value_len: u32, value: &[u8]| {
        let mut bytes = 0i64.to_le_bytes().to_vec();
        bytes.extend_from_slice(&key_len.to_le_bytes());
        bytes.extend_from_slice(&value_len.to_le_bytes());
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a count far beyond the bytes", header(u32::MAX)),
        ("a header cut short", vec![1, 2, 3]),
        ("a value length past the end", [header(1), record(u32::MAX, 1_000_000, b"short")].concat()),
        ("a key length past the end", [header(1), record(999, 0, b"")].concat()),
        ("bytes after the last record", [header(1), record(u32::MAX, 1, b"v"), vec![7]].concat()),
        ("one record fewer than counted", [header(2), record(u32::MAX, 1, b"v"), vec![0; 12]].concat()),
    ];
    for (case, body) in cases {
        let mut stream = producing(&served);
        write_raw(&mut stream, &raw_frame(2, &body));
        let reply = read_reply(&mut stream);
        assert!(
            matches!(&reply, Some(Reply::Error { message }) if message.contains("malformed records frame")),
            "{case}: {reply:?}"
        );
    }
    let mut header_name = [header(1), record(u32::MAX, 1, b"v")].concat();
    header_name.truncate(header_name.len() - 4);
    header_name.extend_from_slice(&1u32.to_le_bytes());
    for part in [&b"\xff\xfe"[..], b"value"] {
        header_name.extend_from_slice(&(part.len() as u32).to_le_bytes());
        header_name.extend_from_slice(part);
    }
    let mut stream = producing(&served);
    write_raw(&mut stream, &raw_frame(2, &header_name));
    assert!(
        matches!(read_reply(&mut stream), Some(Reply::Error { message }) if message.contains("not UTF-8"))
    );
    let mut stream = producing(&served);
    write_raw(&mut stream, &raw_frame(3, &[0; 4]));
    assert!(
        matches!(read_reply(&mut stream), Some(Reply::Error { message }) if message.contains("expected records"))
    );

    let described = served.client().describe_topic("t").unwrap();
    assert_eq!(described.partitions[0].end_offset, 0);
    served.shutdown();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_server(hello: bool, produce: bool, bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let served = served_with_topic();
        let mut stream = if produce { producing(&served) } else { served.raw(hello) };
        write_raw(&mut stream, &bytes);
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        drain(&mut stream);
        prop_assert!(served.client().topics().is_ok());
        served.shutdown();
    }

    #[test]
    fn random_frames_never_panic_the_server(kind in 0u8..5, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let served = served_with_topic();
        for hello in [false, true] {
            let mut stream = producing(&served);
            if !hello {
                stream = served.raw(true);
            }
            write_raw(&mut stream, &raw_frame(kind, &body));
            stream.shutdown(std::net::Shutdown::Write).unwrap();
            drain(&mut stream);
        }
        prop_assert!(served.client().topics().is_ok());
        served.shutdown();
    }
}

#[test]
fn a_batch_the_backend_refuses_is_answered_while_the_client_keeps_the_stream_open() {
    let served = served_with_topic();
    let mut stream = producing(&served);
    let mut frame = crate::local::wire::RecordsFrame::new();
    frame.start(9, 0);
    frame.push_ref(&eddy_types::RecordRef::new(None, b"v", 0));
    frame.write_to(&mut stream).unwrap();
    // The client neither sends more nor closes: the answer must come all the same.
    let reply = read_reply(&mut stream);
    assert!(
        matches!(&reply, Some(Reply::Error { message }) if message.contains("has no partition 9")),
        "{reply:?}"
    );
    assert!(read_reply(&mut stream).is_none(), "the connection is closed");
    served.shutdown();
}

//! Binding, stale sockets, shutdown, long paths, versions.

use std::{os::unix::net::UnixListener, sync::Arc, time::Instant};

use super::{Served, read_reply};
use crate::local::{
    Client, ConsumeRequest, Error, StartAt, frame, serve, testing::LogBackend, wire::Reply, wire::Request,
};

#[test]
fn without_a_socket_file_there_is_no_server_and_finding_that_out_is_cheap() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    for _ in 0..1000 {
        assert!(Client::connect(dir.path()).unwrap().is_none());
    }
    let each = started.elapsed() / 1000;
    assert!(each.as_micros() < 500, "a probe took {each:?}");
}

#[test]
fn a_stale_socket_file_is_no_server_and_is_replaced_when_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eddy.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "dropping a listener leaves its file, as a crash does");
    assert!(Client::connect(dir.path()).unwrap().is_none());

    let backend = Arc::new(LogBackend::open(dir.path()).unwrap());
    let server = serve(dir.path(), backend).unwrap();
    assert!(Client::connect(dir.path()).unwrap().is_some());
    server.shutdown().unwrap();
    assert!(!path.exists(), "shutdown removes the socket file");
}

#[test]
fn a_second_server_for_a_served_directory_is_refused() {
    let served = Served::new();
    let other = tempfile::tempdir().unwrap();
    let backend = Arc::new(LogBackend::open(other.path()).unwrap());
    let error = serve(served.path(), backend).unwrap_err();
    assert!(matches!(error, Error::AlreadyServed { .. }), "{error}");
    assert!(served.client().topics().is_ok(), "the first server still serves");
    served.shutdown();
}

#[test]
fn shutdown_closes_connections_even_of_following_consumers() {
    let served = Served::new();
    served.client().create_topic("t", &Default::default()).unwrap();
    let mut client = served.client();
    let mut consumer = client
        .consume(&ConsumeRequest { topic: "t".into(), partition: None, from: StartAt::End, follow: true })
        .unwrap();
    assert_eq!(consumer.poll(|_| Ok::<_, Error>(())).unwrap(), crate::local::Poll::CaughtUp);
    let socket = served.server().path().to_owned();
    served.shutdown();
    let error = loop {
        match consumer.poll(|_| Ok::<_, Error>(())) {
            Ok(_) => {}
            Err(error) => break error,
        }
    };
    assert!(error.to_string().contains("closed the connection"), "{error}");
    assert!(!socket.exists());
}

#[test]
fn dropping_the_server_removes_the_socket_file() {
    let served = Served::new();
    let socket = served.server().path().to_owned();
    assert!(socket.exists());
    drop(served);
    assert!(!socket.exists());
}

#[test]
fn a_data_directory_with_a_path_too_long_for_a_socket_address_is_served() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("d".repeat(60)).join("e".repeat(60));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(dir.join("eddy.sock").as_os_str().len() > 108);
    let backend = Arc::new(LogBackend::open(&dir).unwrap());
    let server = serve(&dir, backend).unwrap();
    assert!(dir.join("eddy.sock").exists());
    let mut client = Client::connect(&dir).unwrap().expect("the server answers");
    assert!(client.topics().unwrap().is_empty());
    drop(client);
    server.shutdown().unwrap();
    assert!(!dir.join("eddy.sock").exists());
}

#[test]
fn a_client_of_another_protocol_version_is_told_so() {
    let served = Served::new();
    let mut stream = served.raw(false);
    frame::write_json(&mut stream, &Request::Hello { version: 999 }).unwrap();
    let Some(Reply::Error { message }) = read_reply(&mut stream) else { panic!("no error reply") };
    assert!(message.contains("protocol version 1, this client 999"), "{message}");
    assert!(read_reply(&mut stream).is_none(), "the connection is closed");
    served.shutdown();
}

#[test]
fn a_process_that_accepts_but_never_answers_is_reported_not_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let _listener = UnixListener::bind(dir.path().join("eddy.sock")).unwrap();
    let error = Client::connect_within(dir.path(), std::time::Duration::from_millis(100)).unwrap_err();
    assert!(error.to_string().contains("does not answer"), "{error}");
}

//! Remote functions that misbehave, played by an in-test endpoint: 5xx, stalls, refused
//! connections, garbage, protocol violations; plus h2c and the concurrency limit.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::fake_endpoint::{Answer, FakeEndpoint, Script};
use eddy_statefun::http::{Protocol, Timeouts};
use eddy_statefun::invocation::StateView;
use eddy_statefun::proto::reqreply::from_function::{
    IncompleteInvocationContext, InvocationResponse, PersistedValueMutation, PersistedValueSpec, Response,
};
use eddy_statefun::proto::reqreply::{FromFunction, ToFunction, to_function};
use eddy_statefun::{
    Address, CallError, ClientOptions, Completion, Enqueued, FunctionClient, Invocations, Message,
    ProtocolError, TypedValue,
};
use prost::Message as _;

fn options(call: Duration, read: Duration) -> ClientOptions {
    ClientOptions {
        timeouts: Timeouts { call, connect: Duration::from_secs(1), read, write: Duration::from_secs(1) },
        ..ClientOptions::default()
    }
}

fn ok_reply() -> Vec<u8> {
    FromFunction { response: Some(Response::InvocationResult(InvocationResponse::default())) }.encode_to_vec()
}

fn request() -> ToFunction {
    let target: Address = "test/fn/1".parse().expect("the test setup holds");
    ToFunction {
        request: Some(to_function::Request::Invocation(to_function::InvocationBatchRequest {
            target: Some(target.to_proto()),
            state: vec![],
            invocations: vec![to_function::Invocation {
                caller: None,
                argument: Some(TypedValue::int(1).to_proto()),
            }],
        })),
    }
}

#[tokio::test]
async fn http_500_is_retried_with_backoff_until_the_call_timeout() {
    let endpoint = FakeEndpoint::start(false, Arc::new(|_, _: &[u8]| Answer::Status(500))).await;
    let client = FunctionClient::new(options(Duration::from_millis(400), Duration::from_secs(1)));
    let started = Instant::now();
    let error = client.call(&endpoint.url(), &request()).await.unwrap_err();
    let elapsed = started.elapsed();
    let CallError::TimedOut { attempts, last, .. } = &error else { panic!("{error}") };
    assert!(matches!(**last, CallError::Status { status: 500, .. }), "{error}");
    // Waits of 10, 20, 40, 80, 160 ms fit in 400 ms; the next (320 ms) would not.
    assert!((5..=7).contains(attempts), "{attempts} attempts");
    assert_eq!(endpoint.seen.requests.load(Ordering::SeqCst), *attempts as usize);
    assert!(elapsed < Duration::from_millis(800), "gave up after {elapsed:?}");
    assert!(!error.is_retryable());
    assert_eq!(endpoint.seen.bad_requests.load(Ordering::SeqCst), 0, "POST with application/octet-stream");
}

#[tokio::test]
async fn a_503_twice_then_a_reply_succeeds_through_retries() {
    let script = Arc::new(
        |attempt, _: &[u8]| if attempt <= 2 { Answer::Status(503) } else { Answer::Body(ok_reply()) },
    );
    let endpoint = FakeEndpoint::start(false, script).await;
    let client = FunctionClient::new(options(Duration::from_secs(5), Duration::from_secs(1)));
    let reply = client.call(&endpoint.url(), &request()).await.unwrap();
    assert!(matches!(reply.response, Some(Response::InvocationResult(_))));
    assert_eq!(endpoint.seen.requests.load(Ordering::SeqCst), 3);
    assert_eq!(failures(client.stats().failed_attempts()), [("http-status", 2)]);
    assert_eq!(failures(client.stats().failed_calls()), []);
    assert_eq!(client.stats().calls(), 1);
}

/// The kinds of failure counted at least once.
fn failures(counts: impl Iterator<Item = (&'static str, u64)>) -> Vec<(&'static str, u64)> {
    counts.filter(|(_, count)| *count > 0).collect()
}

#[tokio::test]
async fn a_404_fails_at_once() {
    let endpoint = FakeEndpoint::start(false, Arc::new(|_, _: &[u8]| Answer::Status(404))).await;
    let client = FunctionClient::new(options(Duration::from_secs(5), Duration::from_secs(1)));
    let error = client.call(&endpoint.url(), &request()).await.unwrap_err();
    assert!(matches!(error, CallError::Status { status: 404, .. }), "{error}");
    assert_eq!(endpoint.seen.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stalled_endpoint_hits_the_read_timeout_and_the_call_times_out() {
    let script =
        Arc::new(|_, _: &[u8]| Answer::After(Duration::from_secs(10), Box::new(Answer::Body(ok_reply()))));
    let endpoint = FakeEndpoint::start(false, script).await;
    let client = FunctionClient::new(options(Duration::from_millis(700), Duration::from_millis(150)));
    let started = Instant::now();
    let error = client.call(&endpoint.url(), &request()).await.unwrap_err();
    let CallError::TimedOut { attempts, last, .. } = &error else { panic!("{error}") };
    assert!(matches!(**last, CallError::Stalled { .. }), "{error}");
    assert!(last.to_string().contains("read timeout"), "{last}");
    assert!(*attempts >= 2, "a read timeout is retried: {attempts}");
    assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_refused_connection_is_retried_until_the_call_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = FunctionClient::new(options(Duration::from_millis(300), Duration::from_secs(1)));
    let error = client.call(&format!("http://{address}/fn"), &request()).await.unwrap_err();
    let CallError::TimedOut { attempts, last, .. } = &error else { panic!("{error}") };
    assert!(matches!(**last, CallError::Connection { .. }), "{error}");
    assert!(*attempts >= 3);
    assert_eq!(failures(client.stats().failed_attempts()), [("connection", u64::from(*attempts))]);
    assert_eq!(failures(client.stats().failed_calls()), [("timed-out", 1)]);
}

#[tokio::test]
async fn garbage_bytes_are_not_a_reply_and_not_retried() {
    let endpoint =
        FakeEndpoint::start(false, Arc::new(|_, _: &[u8]| Answer::Body(vec![0xff, 0xff, 0xff, 0x07]))).await;
    let client = FunctionClient::new(options(Duration::from_secs(5), Duration::from_secs(1)));
    let error = client.call(&endpoint.url(), &request()).await.unwrap_err();
    assert!(matches!(error, CallError::Garbage { .. }), "{error}");
    assert!(error.to_string().contains("not a FromFunction message"), "{error}");
    assert_eq!(endpoint.seen.requests.load(Ordering::SeqCst), 1);
    assert_eq!(failures(client.stats().failed_attempts()), [("garbage", 1)]);
    assert_eq!(failures(client.stats().failed_calls()), [("garbage", 1)]);
}

#[tokio::test]
async fn an_oversized_reply_is_refused() {
    let endpoint = FakeEndpoint::start(false, Arc::new(|_, _: &[u8]| Answer::Body(vec![0; 4096]))).await;
    let client = FunctionClient::new(ClientOptions { max_response_bytes: 1024, ..ClientOptions::default() });
    let error = client.call(&endpoint.url(), &request()).await.unwrap_err();
    assert!(matches!(error, CallError::TooLarge { limit: 1024, .. }), "{error}");
}

/// Declares `seen: int` on the first request, then answers with `reply`.
fn declaring_then(reply: InvocationResponse) -> Script {
    Arc::new(move |attempt, body| {
        let request = ToFunction::decode(body).expect("the test setup holds");
        let Some(to_function::Request::Invocation(batch)) = request.request else { panic!() };
        if attempt == 1 {
            assert!(batch.state.is_empty());
            let missing = PersistedValueSpec {
                state_name: "seen".into(),
                expiration_spec: None,
                type_typename: "io.statefun.types/int".into(),
            };
            return Answer::Body(
                FromFunction {
                    response: Some(Response::IncompleteInvocationContext(IncompleteInvocationContext {
                        missing_values: vec![missing],
                    })),
                }
                .encode_to_vec(),
            );
        }
        assert_eq!(batch.state.len(), 1, "the registered state travels with the resent batch");
        Answer::Body(
            FromFunction { response: Some(Response::InvocationResult(reply.clone())) }.encode_to_vec(),
        )
    })
}

fn no_state(_: &Address, _: &str) -> Option<TypedValue> {
    None
}

/// Runs one message through the handshake against `endpoint`; the error of the final reply.
async fn invoke_once(endpoint: &FakeEndpoint) -> Result<Completion, ProtocolError> {
    let client = FunctionClient::new(options(Duration::from_secs(5), Duration::from_secs(1)));
    let mut invocations = Invocations::with_max_batch(10);
    let target: Address = "test/fn/1".parse().expect("the test setup holds");
    let Enqueued::Send(batch) =
        invocations.enqueue(target.clone(), Message { caller: None, argument: TypedValue::int(1) })
    else {
        panic!()
    };
    let reply = client
        .call(&endpoint.url(), &invocations.request(&batch, &no_state))
        .await
        .expect("the test setup holds");
    let Completion::Resend(batch) = invocations.complete(&target, reply).expect("the test setup holds")
    else {
        panic!("expected the handshake")
    };
    let reply = client
        .call(&endpoint.url(), &invocations.request(&batch, &no_state))
        .await
        .expect("the test setup holds");
    let outcome = invocations.complete(&target, reply);
    if outcome.is_err() {
        assert_eq!(
            invocations.in_flight(&target),
            Some(&*batch),
            "the failed batch stays in flight to be resent"
        );
    }
    outcome
}

fn mutation(name: &str, value: TypedValue) -> PersistedValueMutation {
    PersistedValueMutation { mutation_type: 1, state_name: name.into(), state_value: Some(value.to_proto()) }
}

#[tokio::test]
async fn a_state_written_with_the_wrong_typename_is_refused() {
    let reply = InvocationResponse {
        state_mutations: vec![mutation("seen", TypedValue::string("1"))],
        ..Default::default()
    };
    let endpoint = FakeEndpoint::start(false, declaring_then(reply)).await;
    let error = invoke_once(&endpoint).await.unwrap_err();
    assert_eq!(
        error,
        ProtocolError::WrongTypename {
            address: "test/fn/1".parse().unwrap(),
            state: "seen".into(),
            declared: "io.statefun.types/int".into(),
            found: "io.statefun.types/string".into(),
        }
    );
}

#[tokio::test]
async fn a_mutation_of_an_undeclared_state_is_refused() {
    let reply = InvocationResponse {
        state_mutations: vec![mutation("ghost", TypedValue::int(1))],
        ..Default::default()
    };
    let endpoint = FakeEndpoint::start(false, declaring_then(reply)).await;
    let error = invoke_once(&endpoint).await.unwrap_err();
    assert_eq!(
        error,
        ProtocolError::UndeclaredState { address: "test/fn/1".parse().unwrap(), state: "ghost".into() }
    );
    let good = InvocationResponse {
        state_mutations: vec![mutation("seen", TypedValue::int(1))],
        ..Default::default()
    };
    let endpoint = FakeEndpoint::start(false, declaring_then(good)).await;
    assert!(matches!(invoke_once(&endpoint).await, Ok(Completion::Done { .. })));
}

#[tokio::test]
async fn h2c_carries_requests_over_http2() {
    let endpoint = FakeEndpoint::start(true, Arc::new(|_, _: &[u8]| Answer::Body(ok_reply()))).await;
    let client = FunctionClient::new(ClientOptions { protocol: Protocol::H2c, ..ClientOptions::default() });
    for _ in 0..3 {
        client.call(&endpoint.url(), &request()).await.unwrap();
    }
    assert_eq!(endpoint.seen.http2.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_requests_than_the_concurrency_limit_are_on_the_wire() {
    for protocol in [Protocol::Http1, Protocol::H2c] {
        let script = Arc::new(|_, _: &[u8]| {
            Answer::After(Duration::from_millis(50), Box::new(Answer::Body(ok_reply())))
        });
        let endpoint = FakeEndpoint::start(protocol == Protocol::H2c, script).await;
        let client = FunctionClient::new(ClientOptions {
            protocol,
            max_concurrent_requests: 2,
            ..ClientOptions::default()
        });
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (client, url) = (client.clone(), endpoint.url());
                tokio::spawn(async move { client.call(&url, &request()).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(endpoint.seen.requests.load(Ordering::SeqCst), 8);
        assert_eq!(endpoint.seen.max_concurrent.load(Ordering::SeqCst), 2, "{protocol:?}");
    }
}

#[test]
fn a_closure_is_a_state_view() {
    let view = |_: &Address, name: &str| (name == "x").then(|| TypedValue::int(1));
    let address: Address = "a/b/c".parse().unwrap();
    assert_eq!(StateView::get(&view, &address, "x"), Some(TypedValue::int(1)));
}

#[tokio::test]
async fn a_peer_that_stops_reading_hits_the_write_timeout() {
    // Accepts connections and never reads: a large request fills the socket buffers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let mut big = request();
    if let Some(to_function::Request::Invocation(batch)) = &mut big.request {
        batch.invocations[0].argument = Some(TypedValue::new("test/blob", vec![7u8; 32 << 20]).to_proto());
    }
    let client = FunctionClient::new(ClientOptions {
        timeouts: Timeouts {
            call: Duration::from_millis(600),
            connect: Duration::from_secs(1),
            read: Duration::from_secs(30),
            write: Duration::from_millis(150),
        },
        ..ClientOptions::default()
    });
    let error = client.call(&format!("http://{address}/fn"), &big).await.unwrap_err();
    let CallError::TimedOut { attempts, last, .. } = &error else { panic!("{error}") };
    // The peer never answers and the read timeout is 30 s: only the write timeout can end an
    // attempt before the call deadline, so more than one attempt means it fired.
    assert!(*attempts >= 2, "{error}");
    assert!(matches!(**last, CallError::Stalled { .. }), "{error}");
    held.abort();
}

#[tokio::test]
async fn a_pooled_connection_idle_past_the_read_timeout_does_not_fail_the_next_call() {
    let endpoint = FakeEndpoint::start(false, Arc::new(|_, _: &[u8]| Answer::Body(ok_reply()))).await;
    let client = FunctionClient::new(options(Duration::from_secs(5), Duration::from_millis(100)));
    client.call(&endpoint.url(), &request()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.call(&endpoint.url(), &request()).await.unwrap();
    assert_eq!(endpoint.seen.requests.load(Ordering::SeqCst), 2, "no failed attempt was retried");
}

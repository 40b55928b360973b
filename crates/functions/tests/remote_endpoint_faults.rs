//! A remote endpoint that misbehaves, under the runtime: answers 503 (retried, counted in the
//! metrics, nothing lost), returns garbage bytes, a state of the wrong type or a state it
//! never declared (the run stops with an error naming the address; nothing of that reply is
//! applied, and the next run with a sound endpoint resends the batch, so every message
//! counts once).

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{open, produce};
use eddy_functions::native::{Context, Function, NativeFunctions};
use eddy_functions::{Functions, Options, storage};
use eddy_statefun::proto::reqreply::from_function::{PersistedValueMutation, Response};
use eddy_statefun::proto::reqreply::{FromFunction, ToFunction};
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::{Module, TypedValue};
use http_body_util::{BodyExt, Full};
use prost::Message as _;

/// Counts the messages of each id in its state `count`.
struct Counter;

impl Function for Counter {
    fn states(&self) -> Vec<StateSpec> {
        let typename = "io.statefun.types/long".to_owned();
        vec![StateSpec { name: "count".to_owned(), typename, expiration: Expiration::Never }]
    }

    fn invoke(&self, context: &mut Context<'_>, _message: TypedValue) -> Result<(), String> {
        let count = context.get("count").map(TypedValue::as_long).transpose().map_err(|e| e.to_string())?;
        context.set("count", TypedValue::long(count.unwrap_or(0) + 1));
        Ok(())
    }
}

/// How the endpoint misbehaves, on which requests (counted from 1).
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Answers 503 to requests up to this one.
    Unavailable(u64),
    /// Answers this request with bytes that are not a `FromFunction`.
    Garbage(u64),
    /// Answers this request with its `count` mutation typed as a string.
    WrongType(u64),
    /// Answers this request with a mutation of a state nobody declared.
    Undeclared(u64),
    /// Never.
    None,
}

/// Serves the counter over HTTP with `fault`, on a runtime of its own; returns its address
/// and its request count.
fn serve(runtime: &tokio::runtime::Runtime, fault: Fault) -> (SocketAddr, Arc<AtomicU64>) {
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&requests);
    let functions = Arc::new(NativeFunctions::new().with("test/counter".parse().unwrap(), Counter));
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (functions, counted) = (Arc::clone(&functions), Arc::clone(&counted));
            let service =
                hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (functions, counted) = (Arc::clone(&functions), Arc::clone(&counted));
                    async move {
                        let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                        let body =
                            request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        Ok::<_, Infallible>(answer(&functions, fault, n, body).await)
                    }
                });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    (addr, requests)
}

async fn answer(
    functions: &NativeFunctions,
    fault: Fault,
    n: u64,
    body: Bytes,
) -> hyper::Response<Full<Bytes>> {
    let respond = |status: u16, body: Vec<u8>| {
        let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        response
    };
    match fault {
        Fault::Unavailable(until) if n <= until => return respond(503, Vec::new()),
        Fault::Garbage(at) if n == at => return respond(200, vec![0xff, 0xff, 0xff, 0x07]),
        _ => {}
    }
    let request = ToFunction::decode(body).unwrap();
    let mut reply: FromFunction = functions.invoke(request).await.unwrap();
    if let Some(Response::InvocationResult(result)) = &mut reply.response {
        match fault {
            Fault::WrongType(at) if n == at => {
                for mutation in &mut result.state_mutations {
                    if let Some(value) = &mut mutation.state_value {
                        value.typename = "io.statefun.types/string".to_owned();
                    }
                }
            }
            Fault::Undeclared(at) if n == at => {
                let mut ghost: PersistedValueMutation = result.state_mutations[0].clone();
                ghost.state_name = "ghost".to_owned();
                result.state_mutations.push(ghost);
            }
            _ => {}
        }
    }
    respond(200, reply.encode_to_vec())
}

fn module(addr: SocketAddr) -> Module {
    let text = format!(
        "kind: io.statefun.endpoints.v2/http
spec:
  functions: test/*
  urlPathTemplate: http://{addr}/{{function.name}}
  maxNumBatchRequests: 10
  transport:
    timeouts:
      call: 5s
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: test/hits
  startupPosition:
    type: earliest
  topics:
    - topic: hits
      valueType: io.statefun.types/string
      targets: [test/counter]
"
    );
    Module::parse("module.yaml", &text).unwrap()
}

const IDS: usize = 10;
const HITS: usize = 200;

fn hits() -> Vec<(String, Vec<u8>)> {
    (0..HITS).map(|i| (format!("id{}", i % IDS), TypedValue::string("hit").value.unwrap().to_vec())).collect()
}

fn counts(store: &eddy_state::StateStore) -> BTreeMap<String, i64> {
    store
        .list("test/counter", "count")
        .map(|entry| {
            let (key, value) = entry.unwrap();
            let value = storage::decode_value(&value).unwrap().as_long().unwrap();
            (String::from_utf8(key.to_vec()).unwrap(), value)
        })
        .collect()
}

fn options() -> Options {
    Options { until_idle: true, commit_interval: Duration::from_millis(20), ..Options::default() }
}

#[test]
fn answers_503_are_retried_counted_and_lose_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (addr, requests) = serve(&runtime, Fault::Unavailable(3));
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    let hits = hits();
    let records: Vec<(&str, Vec<u8>)> =
        hits.iter().map(|(key, value)| (key.as_str(), value.clone())).collect();
    produce(&log, "hits", 2, &records);
    let running =
        eddy_functions::start(&module(addr), Arc::clone(&log), Arc::clone(&store), options()).unwrap();
    let metrics = Arc::clone(running.handle().metrics());
    let summary = running.wait().unwrap();
    assert_eq!(summary.messages, HITS as u64);
    assert!(counts(&store).values().all(|&count| count == (HITS / IDS) as i64), "{:?}", counts(&store));
    assert_eq!(counts(&store).len(), IDS);
    let text = metrics.render();
    let endpoint = format!("http://{addr}/{{function.name}}");
    for line in [
        format!(
            "eddy_functions_remote_failed_attempts_total{{endpoint=\"{endpoint}\",reason=\"http-status\"}} 3"
        ),
        format!(
            "eddy_functions_remote_failed_calls_total{{endpoint=\"{endpoint}\",reason=\"http-status\"}} 0"
        ),
        format!(
            "eddy_functions_remote_calls_total{{endpoint=\"{endpoint}\"}} {}",
            requests.load(Ordering::SeqCst) - 3
        ),
    ] {
        assert!(text.lines().any(|got| got == line), "no `{line}` in:\n{text}");
    }
}

#[test]
fn a_broken_reply_stops_the_run_and_the_next_run_counts_every_message_once() {
    for fault in [Fault::Garbage(4), Fault::WrongType(4), Fault::Undeclared(4)] {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (faulty, _) = serve(&runtime, fault);
        let dir = tempfile::tempdir().unwrap();
        let hits = hits();
        let records: Vec<(&str, Vec<u8>)> =
            hits.iter().map(|(key, value)| (key.as_str(), value.clone())).collect();
        {
            let (log, store) = open(dir.path());
            produce(&log, "hits", 2, &records);
            let error =
                eddy_functions::start(&module(faulty), log, store, options()).unwrap().wait().unwrap_err();
            let text = error.to_string();
            let expected = match fault {
                Fault::Garbage(_) => "not a FromFunction message",
                Fault::WrongType(_) => "io.statefun.types/string",
                Fault::Undeclared(_) => "ghost",
                Fault::Unavailable(_) | Fault::None => unreachable!(),
            };
            assert!(text.contains(expected) && text.contains("test/counter/id"), "{fault:?}: {text}");
        }
        let (sound, _) = serve(&runtime, Fault::None);
        let (log, store) = open(dir.path());
        eddy_functions::start(&module(sound), log, Arc::clone(&store), options()).unwrap().wait().unwrap();
        let counts = counts(&store);
        assert_eq!(counts.len(), IDS, "{fault:?}");
        assert!(counts.values().all(|&count| count == (HITS / IDS) as i64), "{fault:?}: {counts:?}");
    }
}

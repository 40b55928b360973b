//! Every request, through the socket and back.

use std::{sync::mpsc, thread, time::Duration};

use bytes::Bytes;
use eddy_log::TopicConfig;
use eddy_types::{Header, Record, RecordRef};
use serde_json::json;

use super::Served;
use crate::local::{ConsumeRequest, Consumer, Error, Poll, StartAt};

/// A record as read back: partition, offset, timestamp, key, value, headers.
type Seen = (u32, u64, i64, Option<Vec<u8>>, Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

fn request(topic: &str, from: StartAt, follow: bool) -> ConsumeRequest {
    ConsumeRequest { topic: topic.to_owned(), partition: None, from, follow }
}

/// Polls until the end (or, when following, until `until` records are seen).
fn collect(consumer: &mut Consumer<'_>, until: Option<usize>) -> Vec<Seen> {
    let mut seen = Vec::new();
    loop {
        let poll = consumer
            .poll(|r| {
                let headers = r.headers().into_iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
                seen.push((
                    r.partition,
                    r.offset,
                    r.timestamp,
                    r.key.map(<[u8]>::to_vec),
                    r.value.to_vec(),
                    headers,
                ));
                Ok::<_, Error>(())
            })
            .unwrap();
        if poll == Poll::End || until.is_some_and(|n| seen.len() >= n) {
            return seen;
        }
    }
}

fn create(served: &Served, topic: &str, partitions: u32) {
    served.client().create_topic(topic, &TopicConfig::with_partitions(partitions)).unwrap();
}

#[test]
fn topics_are_created_listed_described_and_deleted_through_the_socket() {
    let served = Served::new();
    let mut client = served.client();
    assert!(client.topics().unwrap().is_empty());
    let config = TopicConfig { retention_bytes: Some(1 << 30), ..TopicConfig::with_partitions(3) };
    client.create_topic("orders", &config).unwrap();
    client.create_topic("audit", &TopicConfig::default()).unwrap();

    let topics = client.topics().unwrap();
    let names: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["audit", "orders"]);
    assert_eq!(topics[1].config, config);

    let mut producer = client.produce("orders", None).unwrap();
    producer.send(1, [RecordRef::new(None, b"one", 1), RecordRef::new(None, b"two", 2)]).unwrap();
    producer.finish().unwrap();
    let described = client.describe_topic("orders").unwrap();
    let ends: Vec<(u32, u64, u64)> =
        described.partitions.iter().map(|p| (p.id, p.start_offset, p.end_offset)).collect();
    assert_eq!(ends, [(0, 0, 0), (1, 0, 2), (2, 0, 0)]);

    client.delete_topic("orders").unwrap();
    let names: Vec<String> = client.topics().unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["audit"]);
    drop(client);
    served.shutdown();
}

#[test]
fn produced_records_come_back_byte_for_byte_with_keys_headers_and_offsets() {
    let served = Served::new();
    create(&served, "t", 2);
    let every_byte: Vec<u8> = (0..=255).collect();
    let headers = vec![Header { name: "trace".into(), value: Bytes::from_static(b"\x00\xff") }];
    let records = [
        Record::new(None::<Bytes>, every_byte, -5),
        Record::new(Some(Bytes::new()), Bytes::new(), 0),
        Record { headers, ..Record::new(Some("k"), "{\"quoted\": \"\\n\"}", 1_700_000_000_000) },
    ];
    let mut client = served.client();
    let mut producer = client.produce("t", None).unwrap();
    // More batches than the producer keeps in flight, to both partitions.
    for round in 0..10 {
        producer.send(round % 2, records.iter().map(Record::as_ref)).unwrap();
    }
    let summary = producer.finish().unwrap();
    assert_eq!((summary.records, summary.batches), (30, 10));

    let seen = collect(&mut client.consume(&request("t", StartAt::Beginning, false)).unwrap(), None);
    assert_eq!(seen.len(), 30);
    for partition in 0..2u32 {
        let of_partition: Vec<&Seen> = seen.iter().filter(|s| s.0 == partition).collect();
        assert_eq!(of_partition.len(), 15);
        for (i, (_, offset, timestamp, key, value, headers)) in of_partition.into_iter().enumerate() {
            let record = &records[i % 3];
            assert_eq!(*offset, i as u64);
            assert_eq!(*timestamp, record.timestamp);
            assert_eq!(key.as_deref(), record.key.as_deref());
            assert_eq!(value.as_slice(), &record.value[..]);
            let expected: Vec<(Vec<u8>, Vec<u8>)> =
                record.headers.iter().map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec())).collect();
            assert_eq!(headers, &expected);
        }
    }
    // The connection is ready for the next request after a stream.
    assert_eq!(client.topics().unwrap().len(), 1);
    drop(client);
    served.shutdown();
}

#[test]
fn a_record_larger_than_a_frame_target_and_a_frame_of_many_small_ones_both_arrive() {
    let served = Served::new();
    create(&served, "t", 1);
    let big = vec![b'x'; 10 << 20];
    let small: Vec<Vec<u8>> = (0..200_000).map(|i| format!("{i}").into_bytes()).collect();
    let mut client = served.client();
    let mut producer = client.produce("t", Some(0)).unwrap();
    producer.send(0, [RecordRef::new(None, &big, 0)]).unwrap();
    producer.send(0, small.iter().map(|v| RecordRef::new(None, v, 0))).unwrap();
    producer.finish().unwrap();
    let seen = collect(&mut client.consume(&request("t", StartAt::Beginning, false)).unwrap(), None);
    assert_eq!(seen.len(), 200_001);
    assert_eq!(seen[0].4, big);
    assert!(seen[1..].iter().map(|s| &s.4).eq(small.iter()));
    assert!(seen.iter().enumerate().all(|(i, s)| s.1 == i as u64));
    drop(client);
    served.shutdown();
}

#[test]
fn a_consumer_starts_at_an_offset_or_the_tail_of_one_partition() {
    let served = Served::new();
    create(&served, "t", 2);
    let mut client = served.client();
    let mut producer = client.produce("t", None).unwrap();
    let values: Vec<Vec<u8>> = (0..10).map(|i| vec![b'0' + i]).collect();
    producer.send(1, values.iter().map(|v| RecordRef::new(None, v, 0))).unwrap();
    producer.finish().unwrap();
    let one = |from| ConsumeRequest { partition: Some(1), ..request("t", from, false) };
    let offsets = |seen: Vec<Seen>| -> Vec<u64> {
        seen.into_iter()
            .map(|(p, o, ..)| {
                assert_eq!(p, 1);
                o
            })
            .collect()
    };
    assert_eq!(offsets(collect(&mut client.consume(&one(StartAt::Offset(7))).unwrap(), None)), [7, 8, 9]);
    assert_eq!(offsets(collect(&mut client.consume(&one(StartAt::Tail(2))).unwrap(), None)), [8, 9]);
    assert!(collect(&mut client.consume(&one(StartAt::End)).unwrap(), None).is_empty());
    drop(client);
    served.shutdown();
}

#[test]
fn errors_arrive_as_the_messages_the_log_gives() {
    let served = Served::new();
    create(&served, "t", 1);
    let mut client = served.client();
    let message = |e: Error| e.to_string();
    assert_eq!(
        message(client.describe_topic("ghost").unwrap_err()),
        "unknown topic 'ghost'; `eddy topic list` shows the existing topics"
    );
    assert_eq!(
        message(client.create_topic("t", &TopicConfig::default()).unwrap_err()),
        "topic 't' already exists"
    );
    assert!(message(client.create_topic("bad/name", &TopicConfig::default()).unwrap_err()).contains("'/'"));
    assert_eq!(
        message(client.produce("t", Some(3)).unwrap_err()),
        "topic 't' has no partition 3; it has partitions 0..1"
    );
    let mut consumer = client.consume(&request("t", StartAt::Offset(5), false)).unwrap();
    let error = consumer.poll(|_| Ok::<_, Error>(())).unwrap_err();
    assert_eq!(message(error), "offset 5 is not available in 't' partition 0: it holds offsets 0..0");
    // A refused request leaves the connection usable.
    assert_eq!(client.topics().unwrap().len(), 1);
    drop(client);
    served.shutdown();
}

#[test]
fn a_batch_the_backend_refuses_ends_the_produce_stream_with_its_message() {
    let served = Served::new();
    create(&served, "t", 1);
    let mut client = served.client();
    let mut producer = client.produce("t", None).unwrap();
    producer.send(0, [RecordRef::new(None, b"kept", 0)]).unwrap();
    let error = producer.send(7, [RecordRef::new(None, b"lost", 0)]).and_then(|()| producer.finish());
    assert_eq!(error.unwrap_err().to_string(), "topic 't' has no partition 7; it has partitions 0..1");
    drop(client);
    let seen = collect(&mut served.client().consume(&request("t", StartAt::Beginning, false)).unwrap(), None);
    assert_eq!(seen.len(), 1, "the batch acked before the refused one stays");
    served.shutdown();
}

#[test]
fn a_following_consumer_sees_new_records_and_its_connection_ends_when_it_leaves() {
    let served = Served::new();
    create(&served, "t", 3);
    let dir = served.path().to_owned();
    let (seen_tx, seen_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let consumer = thread::spawn(move || {
        let mut client = crate::local::Client::connect(&dir).unwrap().unwrap();
        let mut consumer = client.consume(&request("t", StartAt::End, true)).unwrap();
        let mut caught_up = 0;
        loop {
            let poll = consumer
                .poll(|r| {
                    seen_tx.send(r.value.to_vec()).unwrap();
                    Ok::<_, Error>(())
                })
                .unwrap();
            if poll == Poll::CaughtUp {
                caught_up += 1;
                if caught_up == 1 {
                    seen_tx.send(b"caught up".to_vec()).unwrap();
                }
            }
            if stop_rx.try_recv().is_ok() {
                return;
            }
        }
    });
    assert_eq!(seen_rx.recv_timeout(Duration::from_secs(10)).unwrap(), b"caught up");
    let mut client = served.client();
    let mut producer = client.produce("t", None).unwrap();
    producer.send(2, [RecordRef::new(None, b"late", 0)]).unwrap();
    producer.finish().unwrap();
    assert_eq!(seen_rx.recv_timeout(Duration::from_secs(10)).unwrap(), b"late");
    drop(client);
    served.wait_for_connections(1);
    stop_tx.send(()).unwrap();
    consumer.join().unwrap();
    // The server notices the consumer left (its next idle notice fails) and ends the thread.
    served.wait_for_connections(0);
    served.shutdown();
}

#[test]
fn state_values_and_lists_come_from_the_backend() {
    let served = Served::new();
    for i in 0..20_000u32 {
        served.backend.put_state(
            "counter",
            "counts",
            format!("key-{i:05}").as_bytes(),
            json!({"n": i, "pad": "x".repeat(100)}),
        );
    }
    served.backend.put_state("counter", "nulls", b"k", serde_json::Value::Null);
    let mut client = served.client();
    assert_eq!(
        client.state_get("counter", "counts", b"key-00042").unwrap(),
        Some(json!({"n": 42, "pad": "x".repeat(100)}))
    );
    assert_eq!(client.state_get("counter", "counts", b"nope").unwrap(), None);
    assert_eq!(client.state_get("counter", "nulls", b"k").unwrap(), Some(serde_json::Value::Null));
    let entries = client.state_list("counter", "counts").unwrap();
    assert_eq!(entries.len(), 20_000);
    assert!(
        entries.iter().enumerate().all(|(i, (k, v))| *k == format!("key-{i:05}").as_bytes() && v["n"] == i)
    );
    assert!(client.state_list("counter", "empty-or-not").is_err());
    assert_eq!(
        client.state_get("ghost", "s", b"k").unwrap_err().to_string(),
        "service 'ghost' has no state 's'"
    );
    assert_eq!(client.state_list("counter", "nulls").unwrap(), [(b"k".to_vec(), serde_json::Value::Null)]);
    drop(client);
    served.shutdown();
}

//! Topics from creation to deletion, and the errors of naming them wrong.

mod common;

use common::Eddy;

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf-8 output")
}

#[test]
fn a_topic_can_be_created_listed_described_and_deleted() {
    let eddy = Eddy::new();
    assert_eq!(text(eddy.ok(&["topic", "list"])), "No topics found\n");

    let created = eddy.ok(&[
        "topic",
        "create",
        "orders",
        "--partitions",
        "3",
        "--retention-time",
        "7d",
        "--retention-bytes",
        "1GiB",
        "--segment-size",
        "16MiB",
    ]);
    assert_eq!(text(created), "topic \"orders\" created\n");
    eddy.create_topic("audit", 1);

    let list = text(eddy.ok(&["topic", "list"]));
    let rows: Vec<Vec<&str>> = list.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["NAME", "PARTITIONS", "RETENTION-TIME", "RETENTION-BYTES", "SIZE"]);
    assert_eq!(rows[1][..4], ["audit", "1", "-", "-"]);
    assert_eq!(rows[2][..4], ["orders", "3", "7days", "1GiB"]);
    assert_eq!(rows.len(), 3);

    eddy.produce("orders", &["--partition", "1"], b"one\ntwo\n");
    let describe = text(eddy.ok(&["topic", "describe", "orders"]));
    assert!(describe.contains("partitions:       3"), "{describe}");
    assert!(describe.contains("retention-time:   7days"), "{describe}");
    assert!(describe.contains("retention-bytes:  1GiB"), "{describe}");
    assert!(describe.contains("segment-size:     16MiB"), "{describe}");
    let table: Vec<Vec<&str>> = describe
        .lines()
        .skip_while(|l| !l.starts_with("PARTITION"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(table[0], ["PARTITION", "START", "END", "RECORDS", "SIZE", "SEGMENTS"]);
    assert_eq!(table[1][..4], ["0", "0", "0", "0"]);
    assert_eq!(table[2][..4], ["1", "0", "2", "2"]);
    assert_eq!(table[3][..4], ["2", "0", "0", "0"]);
    assert_eq!(table.len(), 4);

    assert_eq!(text(eddy.ok(&["topic", "delete", "orders"])), "topic \"orders\" deleted\n");
    let list = text(eddy.ok(&["topic", "list"]));
    assert!(!list.contains("orders"), "{list}");
    assert!(list.contains("audit"), "{list}");
    eddy.ok(&["topic", "delete", "audit"]);
    assert_eq!(text(eddy.ok(&["topic", "list"])), "No topics found\n");
}

#[test]
fn creating_a_topic_that_exists_fails() {
    let eddy = Eddy::new();
    eddy.create_topic("orders", 1);
    let stderr = eddy.fails(&["topic", "create", "orders"]);
    assert!(stderr.contains("topic 'orders' already exists"), "{stderr}");
}

#[test]
fn bad_topic_names_are_rejected_with_the_rule_they_break() {
    let eddy = Eddy::new();
    let long = "x".repeat(250);
    let cases = [
        ("bad/name", "contains '/' at position 3"),
        ("", "topic name is empty"),
        (long.as_str(), "is 250 characters long; the limit is 249"),
        (".hidden", "starts with '.'"),
    ];
    for (name, reason) in cases {
        let stderr = eddy.fails(&["topic", "create", name]);
        assert!(stderr.contains(reason), "{name:?}: {stderr}");
    }
    assert_eq!(text(eddy.ok(&["topic", "list"])), "No topics found\n");
}

#[test]
fn bad_topic_settings_are_rejected() {
    let eddy = Eddy::new();
    let stderr = eddy.fails(&["topic", "create", "t", "--partitions", "0"]);
    assert!(stderr.contains("partitions must be between 1 and"), "{stderr}");
    let stderr = eddy.fails(&["topic", "create", "t", "--retention-time", "soon"]);
    assert!(stderr.contains("--retention-time"), "{stderr}");
    let stderr = eddy.fails(&["topic", "create", "t", "--retention-bytes", "12 parsecs"]);
    assert!(stderr.contains("invalid size '12 parsecs'"), "{stderr}");
}

#[test]
fn commands_on_an_unknown_topic_fail_naming_it() {
    let eddy = Eddy::new();
    eddy.create_topic("real", 1);
    for args in [
        &["topic", "describe", "ghost"][..],
        &["topic", "delete", "ghost"],
        &["produce", "ghost"],
        &["consume", "ghost", "-B", "-d"],
    ] {
        let stderr = eddy.fails(args);
        assert!(stderr.contains("unknown topic 'ghost'"), "{args:?}: {stderr}");
    }
}

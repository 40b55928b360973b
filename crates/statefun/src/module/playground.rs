//! `io.statefun.playground.v1/ingress` and `egress`: the HTTP ingress (`POST /{ns}/{type}/{id}`)
//! and the egress that keeps records per topic for `GET /{topic}`, as Statefun's playground has
//! them.

use super::reader::{Fields, Reader, integer_at_least};

/// The egress id the SDKs name to reach the playground egress.
pub const PLAYGROUND_EGRESS_ID: &str = "io.statefun.playground/egress";

/// The playground ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaygroundIngress {
    /// The port it listens on (default 8090).
    pub port: u16,
}

/// The playground egress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaygroundEgress {
    /// The port it serves on (default 8091).
    pub port: u16,
    /// The topics it keeps.
    pub topics: Vec<String>,
}

fn port(reader: &mut Reader<'_>, spec: &Fields<'_>, default: u16) -> u16 {
    reader
        .parsed(spec, "port", false, |text| {
            integer_at_least(1)(text)
                .ok()
                .and_then(|port| u16::try_from(port).ok())
                .ok_or_else(|| "expected a port number from 1 to 65535".to_owned())
        })
        .unwrap_or(default)
}

pub(super) fn read_ingress(reader: &mut Reader<'_>, spec: &Fields<'_>) -> PlaygroundIngress {
    PlaygroundIngress { port: port(reader, spec, 8090) }
}

pub(super) fn read_egress(reader: &mut Reader<'_>, spec: &Fields<'_>) -> PlaygroundEgress {
    let port = port(reader, spec, 8091);
    let mut topics = Vec::new();
    for (index, node) in reader.list(spec, "topics", false).unwrap_or_default().iter().enumerate() {
        if let Some(topic) = reader.text(node, &format!("{}[{index}]", spec.path_of("topics"))) {
            topics.push(topic);
        }
    }
    PlaygroundEgress { port, topics }
}

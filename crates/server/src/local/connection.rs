//! One client connection on the server: a handshake, then requests one at a time.

use std::{
    io::{self, BufReader},
    net::Shutdown,
    os::unix::net::UnixStream,
    sync::mpsc,
    thread,
};

use bytes::Bytes;
use eddy_types::{Header, PartitionId, Record, TopicName};

use super::{
    Backend, BackendError, ConsumeRequest, Error, LogReader, PROTOCOL_VERSION, Poll, describe_topic,
    enforce_retention, error_message,
    frame::{self, FrameError, Kind, Malformed},
    list_topics,
    wire::{self, RecordsFrame, RecordsIter, Reply, Request},
};

/// Records and entries frames the server sends are cut at about this size.
const FRAME_TARGET_BYTES: usize = 1 << 20;
/// Buffer for reading requests.
const READ_BUFFER_BYTES: usize = 64 << 10;
/// Produce batches read and decoded while the backend works on an earlier one.
const DECODED_AHEAD: usize = 2;

/// Why handling a request stopped.
#[derive(Debug)]
enum Fail {
    /// The request failed: tell the client and carry on with its next request.
    Refused(String),
    /// Tell the client and close the connection: it broke the protocol, or a stream was
    /// cut short and the connection is in no state to go on.
    Broken(String),
    /// The client is gone.
    Gone(io::Error),
    /// Not a failure: a produce stream ended (used to stop its loop).
    Done,
}

impl From<io::Error> for Fail {
    fn from(error: io::Error) -> Self {
        Fail::Gone(error)
    }
}

impl From<Error> for Fail {
    fn from(error: Error) -> Self {
        Fail::Refused(error_message(&error))
    }
}

impl From<BackendError> for Fail {
    fn from(error: BackendError) -> Self {
        Fail::Refused(error_message(&error))
    }
}

impl From<eddy_log::Error> for Fail {
    fn from(error: eddy_log::Error) -> Self {
        Fail::Refused(error_message(&error))
    }
}

impl From<FrameError> for Fail {
    fn from(error: FrameError) -> Self {
        match error {
            FrameError::Io(error) => Fail::Gone(error),
            other => Fail::Broken(other.to_string()),
        }
    }
}

impl From<Malformed> for Fail {
    fn from(error: Malformed) -> Self {
        Fail::Broken(error.to_string())
    }
}

/// Serves one connection until the client leaves or breaks the protocol.
pub(crate) fn serve_connection(stream: UnixStream, backend: &dyn Backend) {
    let input = match stream.try_clone() {
        Ok(input) => input,
        Err(error) => {
            tracing::warn!(%error, "cannot serve a local connection");
            return;
        }
    };
    let mut connection =
        Connection { input: BufReader::with_capacity(READ_BUFFER_BYTES, input), output: stream, backend };
    match connection.serve() {
        Ok(()) => {}
        Err(Fail::Gone(error)) => tracing::debug!(%error, "local client gone"),
        Err(Fail::Done) => {}
        Err(Fail::Refused(message) | Fail::Broken(message)) => {
            tracing::debug!(%message, "closing a local connection");
            // The client may be gone already; there is nobody left to tell then.
            let _ = frame::write_json(&mut connection.output, &Reply::Error { message });
        }
    }
    let _ = connection.output.shutdown(Shutdown::Both);
}

struct Connection<'b> {
    input: BufReader<UnixStream>,
    output: UnixStream,
    backend: &'b dyn Backend,
}

impl Connection<'_> {
    fn serve(&mut self) -> Result<(), Fail> {
        match self.next_request()? {
            None => return Ok(()),
            Some(Request::Hello { version }) if version == PROTOCOL_VERSION => {
                self.reply(&Reply::Hello { version, pid: std::process::id() })?;
            }
            Some(Request::Hello { version }) => {
                return Err(Fail::Broken(format!(
                    "the eddy process serving this data directory speaks protocol version \
                     {PROTOCOL_VERSION}, this client {version}: use the same eddy version for both"
                )));
            }
            Some(_) => return Err(Fail::Broken("a connection must start with hello".into())),
        }
        while let Some(request) = self.next_request()? {
            match self.handle(request) {
                Ok(()) => {}
                Err(Fail::Refused(message)) => self.reply(&Reply::Error { message })?,
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// The next request; `None` once the client closed the connection.
    fn next_request(&mut self) -> Result<Option<Request>, Fail> {
        let Some(frame) = frame::read_frame(&mut self.input)? else { return Ok(None) };
        if frame.kind != Kind::Json {
            return Err(Fail::Broken(format!("expected a request, got a {:?} frame", frame.kind)));
        }
        wire::parse(&frame.body).map(Some).map_err(Fail::Broken)
    }

    fn reply(&mut self, reply: &Reply) -> Result<(), Fail> {
        Ok(frame::write_json(&mut self.output, reply)?)
    }

    fn handle(&mut self, request: Request) -> Result<(), Fail> {
        let log = self.backend.log();
        let reply = match request {
            Request::Hello { .. } => return Err(Fail::Broken("hello was already said".into())),
            Request::End => return Err(Fail::Broken("end outside a produce stream".into())),
            Request::CreateTopic { name, config } => {
                let name = TopicName::new(&name).map_err(|e| Fail::Refused(e.to_string()))?;
                log.create_topic(&name, config)?;
                Reply::Done
            }
            Request::ListTopics => Reply::Topics { topics: list_topics(log) },
            Request::DescribeTopic { name } => Reply::Topic { topic: describe_topic(log, &name)? },
            Request::DeleteTopic { name } => {
                log.delete_topic(&name)?;
                Reply::Done
            }
            Request::Produce { topic, partition } => return self.produce(&topic, partition),
            Request::Consume(request) => return self.consume(&request),
            Request::StateGet { service, state, key } => {
                match self.backend.state_get(&service, &state, &key)? {
                    Some(value) => Reply::Value { value },
                    None => Reply::NoValue,
                }
            }
            Request::StateList { service, state } => {
                let entries = self.backend.state_list(&service, &state)?;
                wire::write_entries(&mut self.output, &entries, FRAME_TARGET_BYTES)?;
                Reply::End
            }
        };
        self.reply(&reply)
    }

    /// A produce stream: every records frame goes to [`Backend::produce`] and is acked.
    /// A second thread reads and decodes the next frames meanwhile, so the socket and the
    /// backend work at the same time.
    fn produce(&mut self, name: &str, partition: Option<PartitionId>) -> Result<(), Fail> {
        let topic = self.backend.log().topic(name)?;
        if let Some(id) = partition {
            topic.partition(id)?;
        }
        self.reply(&Reply::ProduceReady { partitions: topic.partition_count() })?;
        let (input, output, backend) = (&mut self.input, &mut self.output, self.backend);
        let (batches, received) = mpsc::sync_channel(DECODED_AHEAD);
        thread::scope(|scope| {
            scope.spawn(move || {
                loop {
                    let next = next_batch(input);
                    let last = !matches!(next, Ok(Some(_)));
                    if batches.send(next).is_err() || last {
                        return;
                    }
                }
            });
            let produced = received.iter().try_for_each(|batch| -> Result<(), Fail> {
                let Some((partition, records)) = batch? else { return Err(Fail::Done) };
                let offsets =
                    backend.produce(name, partition, records).map_err(|e| Fail::Broken(error_message(&e)))?;
                Ok(frame::write_json(
                    output,
                    &Reply::Ack { partition, start: offsets.start, end: offsets.end },
                )?)
            });
            match produced {
                Err(Fail::Done) => Ok(()),
                Err(fail) => {
                    // Wake the reading thread (blocked on the socket) so the scope can end.
                    let _ = output.shutdown(Shutdown::Read);
                    Err(fail)
                }
                Ok(()) => Err(Fail::Gone(io::ErrorKind::UnexpectedEof.into())),
            }
        })?;
        enforce_retention(&topic)?;
        self.reply(&Reply::Done)
    }

    /// A consume stream: records frames, `idle` while caught up, `end`.
    fn consume(&mut self, request: &ConsumeRequest) -> Result<(), Fail> {
        let mut reader = LogReader::open(self.backend.log(), request)?;
        let mut frame = RecordsFrame::new();
        loop {
            let output = &mut self.output;
            let poll = reader.poll(|record| -> Result<(), Fail> {
                if frame.is_empty() || !frame.continues(record) || frame.body_len() >= FRAME_TARGET_BYTES {
                    if !frame.is_empty() {
                        frame.write_to(output)?;
                    }
                    frame.start(record.partition, record.offset);
                }
                frame.push_consumed(record);
                Ok(())
            });
            if !frame.is_empty() {
                frame.write_to(output)?;
                frame.start(0, 0);
            }
            match poll? {
                Poll::Records => {}
                Poll::CaughtUp => self.reply(&Reply::Idle)?,
                Poll::End => return self.reply(&Reply::End),
            }
        }
    }
}

/// The next batch of a produce stream; `None` at its end.
fn next_batch(input: &mut BufReader<UnixStream>) -> Result<Option<(PartitionId, Vec<Record>)>, Fail> {
    let Some(frame) = frame::read_frame(input)? else {
        return Err(Fail::Gone(io::ErrorKind::UnexpectedEof.into()));
    };
    match frame.kind {
        Kind::Records => decode_produce(frame.body).map(Some),
        Kind::Json => match wire::parse(&frame.body).map_err(Fail::Broken)? {
            Request::End => Ok(None),
            _ => Err(Fail::Broken("expected records or end in a produce stream".into())),
        },
        Kind::Entries => Err(Fail::Broken("expected records or end in a produce stream".into())),
    }
}

/// The partition and records of a produce stream's records frame, sharing its memory.
fn decode_produce(body: Vec<u8>) -> Result<(PartitionId, Vec<Record>), Fail> {
    let body = Bytes::from(body);
    let records = RecordsIter::new(&body)?;
    let partition = records.partition_id();
    let mut out = Vec::with_capacity(records.remaining() as usize);
    for record in records {
        let record = record?;
        let mut headers = Vec::new();
        if record.has_headers() {
            for (name, value) in record.headers() {
                let name = std::str::from_utf8(name)
                    .map_err(|_| Fail::Broken("a header name is not UTF-8".into()))?;
                headers.push(Header { name: name.to_owned(), value: body.slice_ref(value) });
            }
        }
        out.push(Record {
            key: record.key.map(|key| body.slice_ref(key)),
            value: body.slice_ref(record.value),
            timestamp: record.timestamp,
            headers,
        });
    }
    Ok((partition, out))
}

//! The client end: what the CLI uses when a process serves the data directory.

use std::{
    collections::VecDeque,
    io::{self, BufReader},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    time::Duration,
};

use eddy_log::TopicConfig;
use eddy_types::{PartitionId, RecordRef};

use super::{
    ConsumeRequest, ConsumedRecord, Error, PROTOCOL_VERSION, Poll, Result, TopicDescription, TopicInfo,
    frame::{self, Frame, FrameError, Kind},
    server::at_short_path,
    socket_path,
    wire::{self, RecordsFrame, RecordsIter, Reply, Request},
};

/// How long the serving process may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Records frames a producer sends before it waits for the oldest one's ack.
const MAX_IN_FLIGHT: usize = 4;
/// Buffer for reading replies.
const READ_BUFFER_BYTES: usize = 256 << 10;

/// A connection to the process serving a data directory.
#[derive(Debug)]
pub struct Client {
    input: BufReader<UnixStream>,
    output: UnixStream,
    data_dir: PathBuf,
    server_pid: u32,
    /// A stream was abandoned half-way: the connection can carry no more requests.
    broken: bool,
}

impl Client {
    /// Connects to the process serving `data_dir`. `Ok(None)` when none answers: no
    /// socket file, or one left behind by a process that is gone. Costs one failed
    /// `connect` (microseconds) when there is no socket.
    ///
    /// # Errors
    /// A process accepted the connection but did not complete the handshake (it hangs,
    /// speaks another protocol version, or is not an eddy process).
    pub fn connect(data_dir: impl AsRef<Path>) -> Result<Option<Client>> {
        Client::connect_within(data_dir.as_ref(), HANDSHAKE_TIMEOUT)
    }

    /// [`connect`](Self::connect), waiting up to `timeout` for the handshake.
    pub(crate) fn connect_within(data_dir: &Path, timeout: Duration) -> Result<Option<Client>> {
        let path = socket_path(data_dir);
        let stream = match at_short_path(&path, |p| UnixStream::connect(p)) {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(path = %path.display(), %error, "no process serves the data directory");
                return Ok(None);
            }
        };
        let mut client = Client {
            input: BufReader::with_capacity(READ_BUFFER_BYTES, stream.try_clone().map_err(lost(data_dir))?),
            output: stream,
            data_dir: data_dir.to_owned(),
            server_pid: 0,
            broken: false,
        };
        client.output.set_read_timeout(Some(timeout)).map_err(lost(data_dir))?;
        match client.call(&Request::Hello { version: PROTOCOL_VERSION })? {
            Reply::Hello { pid, .. } => client.server_pid = pid,
            other => return Err(unexpected(&other)),
        }
        client.output.set_read_timeout(None).map_err(lost(data_dir))?;
        Ok(Some(client))
    }

    /// The process id of the serving process.
    pub fn server_pid(&self) -> u32 {
        self.server_pid
    }

    /// Creates a topic.
    ///
    /// # Errors
    /// What the server says (a topic that exists, a bad setting), or a lost connection.
    pub fn create_topic(&mut self, name: &str, config: &TopicConfig) -> Result<()> {
        self.expect_done(&Request::CreateTopic { name: name.to_owned(), config: config.clone() })
    }

    /// Every topic, ordered by name.
    ///
    /// # Errors
    /// A lost connection.
    pub fn topics(&mut self) -> Result<Vec<TopicInfo>> {
        match self.call(&Request::ListTopics)? {
            Reply::Topics { topics } => Ok(topics),
            other => Err(unexpected(&other)),
        }
    }

    /// A topic with its partitions' offsets and sizes.
    ///
    /// # Errors
    /// An unknown topic, or a lost connection.
    pub fn describe_topic(&mut self, name: &str) -> Result<TopicDescription> {
        match self.call(&Request::DescribeTopic { name: name.to_owned() })? {
            Reply::Topic { topic } => Ok(topic),
            other => Err(unexpected(&other)),
        }
    }

    /// Deletes a topic and its records.
    ///
    /// # Errors
    /// An unknown topic, or a lost connection.
    pub fn delete_topic(&mut self, name: &str) -> Result<()> {
        self.expect_done(&Request::DeleteTopic { name: name.to_owned() })
    }

    /// Starts producing to `topic` (checking `partition`, if given, exists).
    ///
    /// # Errors
    /// An unknown topic or partition, or a lost connection.
    pub fn produce(&mut self, topic: &str, partition: Option<PartitionId>) -> Result<Producer<'_>> {
        match self.call(&Request::Produce { topic: topic.to_owned(), partition })? {
            Reply::ProduceReady { partitions } => Ok(Producer {
                client: self,
                partitions,
                frame: RecordsFrame::new(),
                in_flight: VecDeque::new(),
                summary: ProduceSummary::default(),
                finished: false,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Starts consuming.
    ///
    /// # Errors
    /// A lost connection. (An unknown topic or offset comes with the first poll.)
    pub fn consume(&mut self, request: &ConsumeRequest) -> Result<Consumer<'_>> {
        self.send(&Request::Consume(request.clone()))?;
        Ok(Consumer { client: self, ended: false })
    }

    /// The committed value of a key of a state, as JSON; `None` if the key has none.
    ///
    /// # Errors
    /// An unknown state, or a lost connection.
    pub fn state_get(&mut self, service: &str, state: &str, key: &[u8]) -> Result<Option<serde_json::Value>> {
        let request =
            Request::StateGet { service: service.to_owned(), state: state.to_owned(), key: key.to_vec() };
        match self.call(&request)? {
            Reply::Value { value } => Ok(Some(value)),
            Reply::NoValue => Ok(None),
            other => Err(unexpected(&other)),
        }
    }

    /// Every committed entry of a state, ordered by key.
    ///
    /// # Errors
    /// An unknown state, or a lost connection.
    pub fn state_list(&mut self, service: &str, state: &str) -> Result<Vec<(Vec<u8>, serde_json::Value)>> {
        self.send(&Request::StateList { service: service.to_owned(), state: state.to_owned() })?;
        let mut entries = Vec::new();
        loop {
            let frame = self.frame()?;
            match frame.kind {
                Kind::Entries => {
                    wire::read_entries(&frame.body, &mut entries).map_err(|e| self.malformed(e))?;
                }
                _ => match self.reply_of(frame)? {
                    Reply::End => return Ok(entries),
                    other => return Err(unexpected(&other)),
                },
            }
        }
    }

    fn expect_done(&mut self, request: &Request) -> Result<()> {
        match self.call(request)? {
            Reply::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends `request` and reads its (JSON) reply.
    fn call(&mut self, request: &Request) -> Result<Reply> {
        self.send(request)?;
        let frame = self.frame()?;
        self.reply_of(frame)
    }

    fn send(&mut self, request: &Request) -> Result<()> {
        if self.broken {
            return Err(Error::Connection(
                "the connection to the serving process was left in the middle of a stream".into(),
            ));
        }
        frame::write_json(&mut self.output, request).map_err(|e| self.write_failed(e))
    }

    /// The next frame; the connection ending is an error.
    fn frame(&mut self) -> Result<Frame> {
        match frame::read_frame(&mut self.input) {
            Ok(Some(frame)) => Ok(frame),
            Ok(None) | Err(FrameError::Truncated) => {
                self.broken = true;
                Err(Error::Connection(format!(
                    "the eddy process serving '{}' (pid {}) closed the connection",
                    self.data_dir.display(),
                    self.server_pid
                )))
            }
            Err(FrameError::Io(error))
                if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
            {
                self.broken = true;
                Err(Error::Connection(format!(
                    "a process listens on {} but does not answer; if it hangs, stop it",
                    socket_path(&self.data_dir).display()
                )))
            }
            Err(FrameError::Io(error)) => {
                self.broken = true;
                Err(lost(&self.data_dir)(error))
            }
            Err(error) => {
                self.broken = true;
                Err(Error::Protocol(error.to_string()))
            }
        }
    }

    /// A JSON frame as a reply; an error reply becomes [`Error::Remote`].
    fn reply_of(&mut self, frame: Frame) -> Result<Reply> {
        if frame.kind != Kind::Json {
            self.broken = true;
            return Err(Error::Protocol(format!("expected a reply, got a {:?} frame", frame.kind)));
        }
        match wire::parse(&frame.body).map_err(Error::Protocol)? {
            Reply::Error { message } => Err(Error::Remote(message)),
            reply => Ok(reply),
        }
    }

    /// The server sent a frame that does not decode.
    fn malformed(&mut self, error: frame::Malformed) -> Error {
        self.broken = true;
        Error::Protocol(error.to_string())
    }

    /// A write failed: the server may have closed the connection after saying why, so its
    /// last words are read (briefly) before giving up with the write's error.
    fn write_failed(&mut self, error: io::Error) -> Error {
        self.broken = true;
        let _ = self.output.set_read_timeout(Some(Duration::from_secs(1)));
        while let Ok(Some(frame)) = frame::read_frame(&mut self.input) {
            if frame.kind == Kind::Json
                && let Ok(Reply::Error { message }) = wire::parse(&frame.body)
            {
                return Error::Remote(message);
            }
        }
        lost(&self.data_dir)(error)
    }
}

fn lost(data_dir: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |error| {
        Error::Connection(format!(
            "lost the connection to the eddy process serving '{}': {error}",
            data_dir.display()
        ))
    }
}

fn unexpected(reply: &Reply) -> Error {
    Error::Protocol(format!("unexpected reply {reply:?}"))
}

/// What a finished produce stream did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProduceSummary {
    /// Records acknowledged.
    pub records: u64,
    /// Records frames acknowledged.
    pub batches: u64,
}

/// A produce stream: batches of records go out, acks come back. Up to four batches are in
/// flight at once. [`finish`](Self::finish) waits for the last acks; dropping a producer
/// without finishing leaves the connection unusable (what was acked stays produced).
#[derive(Debug)]
pub struct Producer<'c> {
    client: &'c mut Client,
    partitions: u32,
    frame: RecordsFrame,
    /// (partition, records) of the batches sent and not yet acked, oldest first.
    in_flight: VecDeque<(PartitionId, u64)>,
    summary: ProduceSummary,
    finished: bool,
}

impl Producer<'_> {
    /// The topic's number of partitions.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Sends `records` as one batch for `partition`: the server appends them as one batch
    /// of the log, so they must fit one (64 MiB).
    ///
    /// # Errors
    /// The server refused an earlier batch (its message), or the connection was lost.
    pub fn send<'a>(
        &mut self,
        partition: PartitionId,
        records: impl IntoIterator<Item = RecordRef<'a>>,
    ) -> Result<()> {
        self.frame.start(partition, 0);
        for record in records {
            self.frame.push_ref(&record);
        }
        let count = u64::from(self.frame.count());
        if let Err(error) = self.frame.write_to(&mut self.client.output) {
            if error.kind() == io::ErrorKind::InvalidInput {
                return Err(Error::Protocol(error.to_string()));
            }
            return Err(self.client.write_failed(error));
        }
        self.in_flight.push_back((partition, count));
        while self.in_flight.len() > MAX_IN_FLIGHT {
            self.ack()?;
        }
        Ok(())
    }

    /// Ends the stream once every batch is acked.
    ///
    /// # Errors
    /// The server refused a batch (its message), or the connection was lost.
    pub fn finish(mut self) -> Result<ProduceSummary> {
        self.finished = true;
        self.client.send(&Request::End)?;
        while !self.in_flight.is_empty() {
            self.ack()?;
        }
        match self.client.frame().and_then(|f| self.client.reply_of(f))? {
            Reply::Done => Ok(self.summary),
            other => Err(unexpected(&other)),
        }
    }

    /// Reads the ack of the oldest batch in flight.
    fn ack(&mut self) -> Result<()> {
        let frame = self.client.frame()?;
        let reply = self.client.reply_of(frame)?;
        let Reply::Ack { partition, start, end } = reply else { return Err(unexpected(&reply)) };
        match self.in_flight.pop_front() {
            Some((sent, count)) if sent == partition && end.checked_sub(start) == Some(count) => {
                self.summary.records += count;
                self.summary.batches += 1;
                Ok(())
            }
            _ => Err(Error::Protocol(format!(
                "ack for partition {partition} {start}..{end} matches no batch sent"
            ))),
        }
    }
}

impl Drop for Producer<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.client.broken = true;
        }
    }
}

/// A consume stream. Dropping it before [`Poll::End`] leaves the connection unusable;
/// that is how a following consumer stops.
#[derive(Debug)]
pub struct Consumer<'c> {
    client: &'c mut Client,
    ended: bool,
}

impl Consumer<'_> {
    /// Waits for the next frame from the server and hands its records to `each`.
    ///
    /// # Errors
    /// The server's error (an unknown topic, an offset not stored, a read failure), a lost
    /// connection, or the first error `each` returns.
    pub fn poll<E: From<Error>>(
        &mut self,
        mut each: impl FnMut(&ConsumedRecord<'_>) -> Result<(), E>,
    ) -> Result<Poll, E> {
        if self.ended {
            return Ok(Poll::End);
        }
        let frame = self.client.frame()?;
        if frame.kind == Kind::Records {
            let records = RecordsIter::new(&frame.body).map_err(|e| self.client.malformed(e))?;
            for record in records {
                each(&record.map_err(|e| self.client.malformed(e))?)?;
            }
            return Ok(Poll::Records);
        }
        match self.client.reply_of(frame) {
            Ok(Reply::Idle) => Ok(Poll::CaughtUp),
            Ok(Reply::End) => {
                self.ended = true;
                Ok(Poll::End)
            }
            Ok(other) => Err(unexpected(&other).into()),
            Err(error) => {
                self.ended = true;
                Err(error.into())
            }
        }
    }
}

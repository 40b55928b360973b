//! `eddy invoke <namespace/type> <id> [payload]`: sends one message to a stateful function.
//!
//! The message is appended to the module's invocations topic
//! ([`eddy_functions::playground::INVOCATIONS_TOPIC`]), through the running `eddy run
//! module.yaml` when one holds the data directory (it answers once the message is durable;
//! the function sees it once, exactly-once like any ingress record), else directly into the
//! data directory, for the next run to deliver.
//!
//! The payload (the argument, or stdin without one) is sent as an `io.statefun.types/string`
//! unless `--type <typename>` names its type, in which case its bytes are sent as they are
//! (e.g. JSON for an SDK's `make_json_type`).

use std::io::Read;

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Args;
use eddy_functions::playground::{INVOCATIONS_TOPIC, invocation};
use eddy_log::TopicConfig;
use eddy_statefun::{FunctionType, TypeName, TypedValue};

use crate::commands::topic_name;
use crate::target::Target;

/// Arguments of `eddy invoke`.
#[derive(Debug, Args)]
pub(crate) struct InvokeArgs {
    /// The function type, `<namespace>/<type>` (e.g. `example/greeter`).
    function_type: String,
    /// The function's id (e.g. a user name).
    id: String,
    /// The message; stdin when left out.
    payload: Option<String>,
    /// The payload's typename, `<namespace>/<name>` (e.g. `example/GreetRequest`): its bytes
    /// are sent as they are [default: `io.statefun.types/string`].
    #[arg(long = "type", value_name = "TYPENAME")]
    typename: Option<String>,
}

pub(crate) fn run(data_dir: &std::path::Path, args: &InvokeArgs) -> anyhow::Result<()> {
    let function_type: FunctionType = args
        .function_type
        .parse()
        .with_context(|| format!("`{}` is not a function type (`<namespace>/<type>`)", args.function_type))?;
    if args.id.is_empty() {
        bail!("the function id is empty");
    }
    let payload = match &args.payload {
        Some(payload) => payload.clone().into_bytes(),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).context("cannot read the payload from stdin")?;
            bytes
        }
    };
    let (typename, value) = match &args.typename {
        Some(typename) => {
            let typename: TypeName = typename
                .parse()
                .with_context(|| format!("`{typename}` is not a typename (`<namespace>/<name>`)"))?;
            (typename.to_string(), Bytes::from(payload))
        }
        None => {
            let text = String::from_utf8(payload)
                .context("the payload is not UTF-8; give its type with --type to send bytes")?;
            let value = TypedValue::string(&text);
            (value.typename, value.value.unwrap_or_default())
        }
    };
    let record = invocation(&function_type, &args.id, &typename, value);
    let mut target = Target::connect(data_dir)?;
    let remote = matches!(target, Target::Remote(_));
    if !remote && !target.topics()?.iter().any(|topic| topic.name == INVOCATIONS_TOPIC) {
        target.create_topic(&topic_name(INVOCATIONS_TOPIC)?, TopicConfig::default())?;
    }
    let mut sink = match target.produce(INVOCATIONS_TOPIC, Some(0)) {
        Ok(sink) => sink,
        Err(error) if remote => {
            return Err(error.context(
                "the process running on this data directory takes no invocations: it runs a dataflow, \
                 not a Stateful Functions module",
            ));
        }
        Err(error) => return Err(error),
    };
    sink.append(0, [record.as_ref()])?;
    sink.commit()?;
    sink.finish()?;
    if remote {
        eprintln!("sent to {function_type}/{}", args.id);
    } else {
        eprintln!("queued for {function_type}/{}: the next `eddy run` of the module delivers it", args.id);
    }
    Ok(())
}

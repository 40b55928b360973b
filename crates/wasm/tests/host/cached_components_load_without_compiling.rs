//! The on-disk cache: a second load of the same bytes, even by a new host (a restart),
//! reads compiled code instead of compiling.

use eddy_wasm::{CacheStats, Host, NoState, OperatorKind, Options, Output, Record};

use crate::guests::guest;

#[test]
fn a_second_load_of_the_same_component_is_a_cache_hit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options { cache_dir: Some(dir.path().join("cache")), ..Options::default() };
    let bytes = guest("map");

    let first = Host::new(options.clone()).expect("host");
    first.load(&bytes).expect("compile");
    assert_eq!(first.cache_stats(), Some(CacheStats { hits: 0, misses: 1 }));
    first.load(&bytes).expect("cached");
    assert_eq!(first.cache_stats(), Some(CacheStats { hits: 1, misses: 1 }));

    let restarted = Host::new(options).expect("host");
    let component = restarted.load(&bytes).expect("cached");
    assert_eq!(restarted.cache_stats(), Some(CacheStats { hits: 1, misses: 0 }));
    let mut pool = component.operator(OperatorKind::Map).expect("map").pool(NoState).expect("pool");
    assert_eq!(pool.call(Record::new("1", 2)), Ok(Output::Value(br#"{"value":1,"at":2}"#.to_vec())));

    // Other bytes are another entry.
    restarted.load(&guest("filter")).expect("compile");
    assert_eq!(restarted.cache_stats(), Some(CacheStats { hits: 1, misses: 1 }));
}

#[test]
fn without_a_cache_directory_there_are_no_stats() {
    let host = Host::new(Options::default()).expect("host");
    assert_eq!(host.cache_stats(), None);
}

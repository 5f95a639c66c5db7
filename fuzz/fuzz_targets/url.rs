//! Fuzzes `get`'s URL parser: never a panic, and a URL it accepts says the
//! same thing when written back out and parsed again.
#![no_main]

use asyncore_cli::get::HttpUrl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(url) = HttpUrl::parse(text) else {
        return;
    };
    assert!(url.target.starts_with('/'), "{:?}", url.target);
    assert!(!url.target.contains(' '), "{:?}", url.target);
    let again = url.to_string();
    let back = HttpUrl::parse(&again).unwrap_or_else(|e| panic!("{again:?}: {e:?}"));
    assert_eq!(back, url, "{again:?}");
});

//! Dates as HTTP writes them: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`)
//! for `Date` and `Last-Modified`, parsed back for `If-Modified-Since` and
//! `If-Range`, and the common log format's `[06/Nov/1994:08:49:37 +0000]`.
//! All in UTC, from seconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the epoch (0 for times before it).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    min: u64,
    sec: u64,
    weekday: usize,
}

fn parts(secs: u64) -> Parts {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: rem / 3600,
        min: rem % 3600 / 60,
        sec: rem % 60,
        weekday: (days % 7) as usize,
    }
}

/// IMF-fixdate of `secs` since the epoch.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::dates::http_date;
/// assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn http_date(secs: u64) -> String {
    let p = parts(secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[p.weekday],
        p.day,
        MONTHS[p.month as usize - 1],
        p.year,
        p.hour,
        p.min,
        p.sec
    )
}

/// The common log format's time of `secs` since the epoch, brackets included.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::dates::clf_date;
/// assert_eq!(clf_date(784_111_777), "[06/Nov/1994:08:49:37 +0000]");
/// ```
pub fn clf_date(secs: u64) -> String {
    let p = parts(secs);
    format!(
        "[{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000]",
        p.day,
        MONTHS[p.month as usize - 1],
        p.year,
        p.hour,
        p.min,
        p.sec
    )
}

/// Parses an HTTP-date in any of its three forms (RFC 9110 §5.6.7, which
/// recipients must all accept): the IMF-fixdate that HTTP/1.1 senders
/// generate, and the obsolete RFC 850 and asctime forms. `None` for
/// anything else, which callers treat as an absent header.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::dates::parse_http_date;
/// assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
/// assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
/// assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
/// assert_eq!(parse_http_date("yesterday"), None);
/// ```
pub fn parse_http_date(text: &str) -> Option<u64> {
    let b = text.trim().as_bytes();
    imf_fixdate(b)
        .or_else(|| rfc850_date(b))
        .or_else(|| asctime_date(b))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
fn imf_fixdate(b: &[u8]) -> Option<u64> {
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return None;
    }
    let day = digits(&b[5..7])?;
    let month = month(&b[8..11])?;
    let year = digits(&b[12..16])?;
    timestamp(year, month, day, &b[17..25])
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`: a two-digit year more than 50 years
/// ahead is the most recent past year with those digits (RFC 9110).
fn rfc850_date(b: &[u8]) -> Option<u64> {
    let comma = b.iter().position(|&c| c == b',')?;
    let rest = b.get(comma + 1..)?;
    if rest.len() != 23 || rest[0] != b' ' || &rest[19..] != b" GMT" {
        return None;
    }
    if rest[3] != b'-' || rest[7] != b'-' || rest[10] != b' ' {
        return None;
    }
    let day = digits(&rest[1..3])?;
    let month = month(&rest[4..7])?;
    let mut year = 2000 + digits(&rest[8..10])?;
    if year > current_year() + 50 {
        year -= 100;
    }
    timestamp(year, month, day, &rest[11..19])
}

/// `Sun Nov  6 08:49:37 1994` (the day padded with a space).
fn asctime_date(b: &[u8]) -> Option<u64> {
    if b.len() != 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
        return None;
    }
    let month = month(&b[4..7])?;
    let day = match &b[8..10] {
        [b' ', d] => digits(&[*d])?,
        two => digits(two)?,
    };
    let year = digits(&b[20..24])?;
    timestamp(year, month, day, &b[11..19])
}

/// ASCII digits only (no sign, no space) as a number.
fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `Jan` → 1 ... `Dec` → 12.
fn month(b: &[u8]) -> Option<u32> {
    Some(MONTHS.iter().position(|m| m.as_bytes() == b)? as u32 + 1)
}

/// Seconds since the epoch of the date and `hh:mm:ss` (checked).
fn timestamp(year: u64, month: u32, day: u64, time: &[u8]) -> Option<u64> {
    if time.len() != 8 || time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (hour, min, sec) = (
        digits(&time[0..2])?,
        digits(&time[3..5])?,
        digits(&time[6..8])?,
    );
    if !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(i64::try_from(year).ok()?, month, day as u32);
    Some(u64::try_from(days).ok()? * 86_400 + hour * 3600 + min * 60 + sec)
}

/// This year, from the system clock.
fn current_year() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    digits(&http_date(now).as_bytes()[12..16]).unwrap_or(1970)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_centuries_and_leap_days() {
        for secs in [0, 951_782_400, 1_709_164_800, 4_102_444_799, 784_111_777] {
            assert_eq!(parse_http_date(&http_date(secs)), Some(secs), "{secs}");
        }
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    // RFC 9110 §5.6.7: recipients accept the two obsolete forms too.
    #[test]
    fn accepts_the_obsolete_forms() {
        let t = Some(784_111_777);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), t);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), t);
        assert_eq!(parse_http_date("Sun Nov 06 08:49:37 1994"), t);
        // Two-digit years: the most recent past year unless within 50 years.
        let past = parse_http_date("Friday, 01-Jan-99 00:00:00 GMT").unwrap();
        assert_eq!(http_date(past), "Fri, 01 Jan 1999 00:00:00 GMT");
        let soon = parse_http_date("Friday, 01-Jan-38 00:00:00 GMT").unwrap();
        assert_eq!(http_date(soon), "Fri, 01 Jan 2038 00:00:00 GMT");
    }

    #[test]
    fn rejects_other_forms() {
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 UTC"), None);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 94"), None);
        assert_eq!(parse_http_date("Sun Xyz  6 08:49:37 1994"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date("Sun, 06 Xyz 1994 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("Sun, +6 Nov 1994 08:49:37 GMT"), None);
    }
}

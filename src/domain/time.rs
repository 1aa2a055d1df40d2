//! Calendar dates from unix seconds, without a date library.

/// `YYYY-MM-DD` (UTC) for a unix timestamp. Howard Hinnant's civil-from-days.
pub fn ymd(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM UTC` for a unix timestamp.
pub fn ymd_hm(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        ymd(unix),
        secs / 3600,
        (secs % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::{ymd, ymd_hm};

    #[test]
    fn known_dates() {
        assert_eq!(ymd(0), "1970-01-01");
        assert_eq!(ymd(951_782_400), "2000-02-29");
        assert_eq!(ymd(1_795_651_200), "2026-11-26");
        assert_eq!(ymd(-86_400), "1969-12-31");
        assert_eq!(
            ymd_hm(1_795_651_200 + 13 * 3600 + 5 * 60),
            "2026-11-26 13:05 UTC"
        );
    }
}

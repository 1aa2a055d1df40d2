//! Rules shared by the admin's money reports: the period a report covers (typed by a person,
//! so validated with sentences they can act on), money as plain decimal text for exports, and
//! CSV cells that a spreadsheet will never run as a formula.

use super::Money;
use super::time::ymd;

const DAY: i64 = 86_400;
/// Longest date range the overview accepts (its daily table has one row per day and currency).
pub const MAX_RANGE_DAYS: i64 = 366;
/// Longest month range of the fees report.
pub const MAX_MONTHS: i64 = 36;
/// The overview's quick choices, in days ending today.
pub const PRESETS: [i64; 3] = [7, 30, 90];
pub const DEFAULT_PRESET: i64 = 30;

/// A half-open range of unix seconds `[from, to)`, on UTC day boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    /// Every day of the period, as the unix second it starts.
    pub fn days(&self) -> impl Iterator<Item = i64> + '_ {
        (self.from / DAY..self.to / DAY).map(|d| d * DAY)
    }

    /// The last second of the period, for labels ("to" is inclusive for people).
    pub fn last_day(&self) -> String {
        ymd(self.to - 1)
    }

    pub fn first_day(&self) -> String {
        ymd(self.from)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("Choose the last 7, 30 or 90 days, or give both dates.")]
    UnknownPreset,
    #[error("Give both a start and an end date, or neither.")]
    HalfRange,
    #[error("“{0}” is not a date: write it as YYYY-MM-DD, e.g. 2026-11-30.")]
    BadDate(String),
    #[error("“{0}” is not a month: write it as YYYY-MM, e.g. 2026-11.")]
    BadMonth(String),
    #[error("The start ({from}) is after the end ({to}).")]
    Reversed { from: String, to: String },
    #[error("That is {0} days; choose at most {MAX_RANGE_DAYS}.")]
    TooLong(i64),
    #[error("That is {0} months; choose at most {MAX_MONTHS}.")]
    TooManyMonths(i64),
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days-from-civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    days_from_civil(if m == 12 { y + 1 } else { y }, m % 12 + 1, 1) - days_from_civil(y, m, 1)
}

fn number(text: &str, digits: usize) -> Option<i64> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// `YYYY-MM` → (year, month).
fn parse_month(text: &str) -> Option<(i64, i64)> {
    let (y, m) = text.split_once('-')?;
    let (y, m) = (number(y, 4)?, number(m, 2)?);
    (y >= 1970 && (1..=12).contains(&m)).then_some((y, m))
}

/// `YYYY-MM-DD` → the unix second that day starts (UTC).
pub fn parse_day(text: &str) -> Option<i64> {
    let (month, d) = text.trim().rsplit_once('-')?;
    let (y, m) = parse_month(month)?;
    let d = number(d, 2)?;
    (1..=days_in_month(y, m))
        .contains(&d)
        .then(|| days_from_civil(y, m, d) * DAY)
}

fn start_of_day(unix: i64) -> i64 {
    unix.div_euclid(DAY) * DAY
}

/// The overview's period: `from`/`to` dates (both, inclusive) when given, else the last
/// `preset` days ending today (`""` = the default).
pub fn period(preset: &str, from: &str, to: &str, now: i64) -> Result<Period, PeriodError> {
    let (from, to) = (from.trim(), to.trim());
    if from.is_empty() && to.is_empty() {
        let days = match preset.trim() {
            "" => DEFAULT_PRESET,
            p => p
                .parse::<i64>()
                .ok()
                .filter(|d| PRESETS.contains(d))
                .ok_or(PeriodError::UnknownPreset)?,
        };
        let end = start_of_day(now) + DAY;
        return Ok(Period {
            from: end - days * DAY,
            to: end,
        });
    }
    if from.is_empty() || to.is_empty() {
        return Err(PeriodError::HalfRange);
    }
    let start = parse_day(from).ok_or_else(|| PeriodError::BadDate(from.to_owned()))?;
    let last = parse_day(to).ok_or_else(|| PeriodError::BadDate(to.to_owned()))?;
    if start > last {
        return Err(PeriodError::Reversed {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    let days = (last - start) / DAY + 1;
    if days > MAX_RANGE_DAYS {
        return Err(PeriodError::TooLong(days));
    }
    Ok(Period {
        from: start,
        to: last + DAY,
    })
}

/// The fees report's months, `from`..=`to` as `YYYY-MM`; by default the last 12 months.
pub fn months(from: &str, to: &str, now: i64) -> Result<Period, PeriodError> {
    let (from, to) = (from.trim(), to.trim());
    let this = parse_month(&ymd(now)[..7]).unwrap_or((1970, 1));
    let (start, end) = match (from.is_empty(), to.is_empty()) {
        (true, true) => {
            let index = this.0 * 12 + this.1 - 1 - 11;
            ((index / 12, index % 12 + 1), this)
        }
        (false, false) => (
            parse_month(from).ok_or_else(|| PeriodError::BadMonth(from.to_owned()))?,
            parse_month(to).ok_or_else(|| PeriodError::BadMonth(to.to_owned()))?,
        ),
        _ => return Err(PeriodError::HalfRange),
    };
    let count = (end.0 * 12 + end.1) - (start.0 * 12 + start.1) + 1;
    if count < 1 {
        return Err(PeriodError::Reversed {
            from: from.to_owned(),
            to: to.to_owned(),
        });
    }
    if count > MAX_MONTHS {
        return Err(PeriodError::TooManyMonths(count));
    }
    let after = if end.1 == 12 {
        (end.0 + 1, 1)
    } else {
        (end.0, end.1 + 1)
    };
    Ok(Period {
        from: days_from_civil(start.0, start.1, 1) * DAY,
        to: days_from_civil(after.0, after.1, 1) * DAY,
    })
}

/// `YYYY-MM` of a unix second.
pub fn month_of(unix: i64) -> String {
    ymd(unix)[..7].to_owned()
}

/// The amount as a plain decimal in the currency's major unit: `1234.50`, `-0.05`, `1500`
/// (zero-decimal currencies). No symbol, no grouping: what a spreadsheet reads as a number.
pub fn decimal(money: Money) -> String {
    let exp = money.currency.exponent();
    let abs = money.minor.unsigned_abs();
    let sign = if money.minor < 0 { "-" } else { "" };
    if exp == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10_u64.pow(exp);
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = exp as usize
    )
}

/// A CSV cell holding text someone typed (a shop name…): a leading `=`, `+`, `-`, `@`, tab or
/// carriage return would make a spreadsheet evaluate it, so it is prefixed with `'`; then
/// quoted as RFC 4180 asks.
pub fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        csv_cell(&format!("'{text}"))
    } else {
        csv_cell(text)
    }
}

/// A CSV cell of our own making (amounts, dates, ids): quoted when it needs to be, never altered.
pub fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    const NOON_2026_12_02: i64 = 1_796_169_600 + 12 * 3600;

    #[test]
    fn presets_end_today_and_ranges_include_both_days() {
        assert_eq!(ymd(NOON_2026_12_02), "2026-12-02");
        let p = period("7", "", "", NOON_2026_12_02).unwrap();
        assert_eq!(
            (p.first_day(), p.last_day()),
            ("2026-11-26".into(), "2026-12-02".into())
        );
        assert_eq!(p.days().count(), 7);
        let p = period("", "", "", NOON_2026_12_02).unwrap();
        assert_eq!(p.days().count(), 30);
        let p = period("", "2024-02-28", "2024-03-01", NOON_2026_12_02).unwrap();
        assert_eq!(p.days().count(), 3, "2024 is a leap year");
        assert_eq!(p.last_day(), "2024-03-01");
    }

    #[test]
    fn bad_periods_say_what_is_wrong() {
        let now = NOON_2026_12_02;
        assert_eq!(period("14", "", "", now), Err(PeriodError::UnknownPreset));
        assert_eq!(
            period("", "2026-01-01", "", now),
            Err(PeriodError::HalfRange)
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-01-01",
            "2026-1-01",
            "yesterday",
        ] {
            assert_eq!(
                period("", bad, "2026-12-01", now),
                Err(PeriodError::BadDate(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            period("", "2026-12-01", "2026-11-01", now),
            Err(PeriodError::Reversed { .. })
        ));
        assert_eq!(
            period("", "2024-01-01", "2026-01-01", now),
            Err(PeriodError::TooLong(732))
        );
    }

    #[test]
    fn month_ranges() {
        let p = months("", "", NOON_2026_12_02).unwrap();
        assert_eq!(
            (month_of(p.from), month_of(p.to - 1)),
            ("2026-01".into(), "2026-12".into())
        );
        let p = months("2025-12", "2026-02", NOON_2026_12_02).unwrap();
        assert_eq!(
            (p.first_day(), p.last_day()),
            ("2025-12-01".into(), "2026-02-28".into())
        );
        assert_eq!(
            months("2026-13", "2026-12", 0),
            Err(PeriodError::BadMonth("2026-13".into()))
        );
        assert!(matches!(
            months("2026-05", "2026-04", 0),
            Err(PeriodError::Reversed { .. })
        ));
        assert_eq!(
            months("2020-01", "2026-01", 0),
            Err(PeriodError::TooManyMonths(73))
        );
    }

    #[test]
    fn decimals_per_currency() {
        assert_eq!(decimal(Money::new(123_450, Currency::Usd)), "1234.50");
        assert_eq!(decimal(Money::new(-5, Currency::Eur)), "-0.05");
        assert_eq!(decimal(Money::new(1500, Currency::Jpy)), "1500");
        assert_eq!(decimal(Money::new(0, Currency::Gbp)), "0.00");
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_text("Owl Ceramics"), "Owl Ceramics");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("-2"), "'-2");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("\tx"), "'\tx");
        assert_eq!(csv_text("\rx"), "\"'\rx\"");
        assert_eq!(csv_text("Pots, pans"), "\"Pots, pans\"");
        assert_eq!(csv_cell("-2.30"), "-2.30", "our own numbers are left alone");
    }
}

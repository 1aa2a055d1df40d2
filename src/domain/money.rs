//! Amounts of money in minor units (cents, yen…) tagged with their currency.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount out of range")]
    Overflow,
    #[error("`{0}` is not a supported currency")]
    UnknownCurrency(String),
    #[error("`{0}` is not an amount")]
    InvalidAmount(String),
}

/// The currencies the marketplace accepts. Stripe spells them in lower case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Usd,
    Eur,
    Gbp,
    Chf,
    Cad,
    Aud,
    Sek,
    Jpy,
    Krw,
}

impl Currency {
    pub const ALL: [Currency; 9] = [
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Chf,
        Currency::Cad,
        Currency::Aud,
        Currency::Sek,
        Currency::Jpy,
        Currency::Krw,
    ];

    /// ISO 4217 code in lower case, as Stripe uses it.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Usd => "usd",
            Currency::Eur => "eur",
            Currency::Gbp => "gbp",
            Currency::Chf => "chf",
            Currency::Cad => "cad",
            Currency::Aud => "aud",
            Currency::Sek => "sek",
            Currency::Jpy => "jpy",
            Currency::Krw => "krw",
        }
    }

    /// Digits after the decimal point. Stripe's zero-decimal currencies take
    /// amounts in whole units (`amount=500` is ¥500, not ¥5.00).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Jpy | Currency::Krw => 0,
            _ => 2,
        }
    }

    fn symbol(self) -> Option<&'static str> {
        match self {
            Currency::Usd => Some("$"),
            Currency::Eur => Some("€"),
            Currency::Gbp => Some("£"),
            Currency::Jpy => Some("¥"),
            Currency::Krw => Some("₩"),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code().to_ascii_uppercase())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == lower)
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money::new(0, currency)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    /// Parses what a person types in a price field ("12.5", "1,234.00", "500"),
    /// rejecting more decimals than the currency has.
    pub fn parse_major(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        let invalid = || MoneyError::InvalidAmount(input.to_string());
        let cleaned: String = input.trim().chars().filter(|c| *c != ',').collect();
        let (negative, digits) = match cleaned.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let exp = currency.exponent() as usize;
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > exp
            || (digits.contains('.') && frac.is_empty())
        {
            return Err(invalid());
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let mut frac_minor: i64 = 0;
        if exp > 0 {
            let padded = format!("{frac:0<exp$}");
            frac_minor = padded.parse().map_err(|_| invalid())?;
        }
        let minor = whole
            .checked_mul(10_i64.pow(exp as u32))
            .and_then(|m| m.checked_add(frac_minor))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(if negative { -minor } else { minor }, currency))
    }
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl fmt::Display for Money {
    /// `$1,234.50`, `¥1,500`, `-€0.99`, `CHF 12.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let abs = self.minor.unsigned_abs();
        let scale = 10_u64.pow(exp);
        let whole = group_thousands(&(abs / scale).to_string());
        let sign = if self.minor < 0 { "-" } else { "" };
        let number = if exp == 0 {
            whole
        } else {
            format!("{whole}.{:0width$}", abs % scale, width = exp as usize)
        };
        match self.currency.symbol() {
            Some(sym) => write!(f, "{sign}{sym}{number}"),
            None => write!(f, "{sign}{} {number}", self.currency),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_two_and_zero_decimal_currencies() {
        assert_eq!(Money::new(123_450, Currency::Usd).to_string(), "$1,234.50");
        assert_eq!(Money::new(5, Currency::Eur).to_string(), "€0.05");
        assert_eq!(Money::new(-99, Currency::Gbp).to_string(), "-£0.99");
        assert_eq!(Money::new(1500, Currency::Jpy).to_string(), "¥1,500");
        assert_eq!(
            Money::new(1_000_000, Currency::Krw).to_string(),
            "₩1,000,000"
        );
        assert_eq!(Money::new(1200, Currency::Chf).to_string(), "CHF 12.00");
        assert_eq!(
            Money::new(i64::MIN, Currency::Usd).to_string(),
            "-$92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let a = Money::new(100, Currency::Usd);
        let b = Money::new(100, Currency::Eur);
        assert_eq!(
            a.checked_add(b),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::Usd,
                right: Currency::Eur
            })
        );
        assert!(a.checked_sub(b).is_err());
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Money::new(250, Currency::Usd);
        assert_eq!(a.checked_add(a).unwrap().minor, 500);
        assert_eq!(
            a.checked_sub(Money::new(300, Currency::Usd)).unwrap().minor,
            -50
        );
        assert_eq!(a.checked_mul(3).unwrap().minor, 750);
        assert_eq!(
            Money::new(i64::MAX, Currency::Usd).checked_add(Money::new(1, Currency::Usd)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(i64::MAX / 2 + 1, Currency::Usd).checked_mul(2),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn parses_what_people_type() {
        assert_eq!(
            Money::parse_major("12.5", Currency::Usd).unwrap().minor,
            1250
        );
        assert_eq!(
            Money::parse_major("1,234.00", Currency::Eur).unwrap().minor,
            123_400
        );
        assert_eq!(Money::parse_major("500", Currency::Jpy).unwrap().minor, 500);
        assert!(Money::parse_major("5.5", Currency::Jpy).is_err());
        assert!(Money::parse_major("1.234", Currency::Usd).is_err());
        assert!(Money::parse_major("abc", Currency::Usd).is_err());
        assert!(Money::parse_major("1.", Currency::Usd).is_err());
        assert!(Money::parse_major("", Currency::Usd).is_err());
        assert_eq!(
            Money::parse_major("99999999999999999999", Currency::Usd),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn currency_codes_round_trip() {
        for c in Currency::ALL {
            assert_eq!(c.code().parse::<Currency>().unwrap(), c);
        }
        assert_eq!("JPY".parse::<Currency>().unwrap(), Currency::Jpy);
        assert!("xyz".parse::<Currency>().is_err());
    }
}

//! What a seller may write into a product, checked in one place.

use crate::domain::{Currency, Money};

pub const TITLE_MAX: usize = 120;
pub const DESCRIPTION_MAX: usize = 5_000;
pub const PRICE_MAX_MINOR: i64 = 99_999_999;
pub const STOCK_MAX: i64 = 1_000_000;

/// The currencies a product can be priced in (shown in the form, in this order).
pub const PRODUCT_CURRENCIES: [Currency; 4] =
    [Currency::Usd, Currency::Eur, Currency::Gbp, Currency::Jpy];

/// The form as typed.
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub title: String,
    pub description: String,
    pub price: String,
    pub currency: String,
    pub stock: String,
}

/// A product that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidProduct {
    pub title: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
}

/// Checks every field and returns every problem (field name, message), not just the first.
pub fn validate(input: &ProductInput) -> Result<ValidProduct, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let title = input.title.trim().to_string();
    let title_len = title.chars().count();
    if title_len == 0 {
        errors.push(("title", "Give the product a title.".to_string()));
    } else if title_len > TITLE_MAX {
        errors.push((
            "title",
            format!("Keep the title to {TITLE_MAX} characters (it has {title_len})."),
        ));
    } else if title.chars().any(char::is_control) {
        errors.push((
            "title",
            "The title cannot contain control characters.".into(),
        ));
    }
    // Line endings normalised so the count matches what the person sees.
    let description = input.description.replace("\r\n", "\n").trim().to_string();
    let desc_len = description.chars().count();
    if desc_len > DESCRIPTION_MAX {
        errors.push((
            "description",
            format!("Keep the description to {DESCRIPTION_MAX} characters (it has {desc_len})."),
        ));
    }
    let currency = PRODUCT_CURRENCIES
        .into_iter()
        .find(|c| c.code() == input.currency.trim().to_ascii_lowercase());
    if currency.is_none() {
        errors.push(("currency", "Choose USD, EUR, GBP or JPY.".to_string()));
    }
    let mut price = None;
    if let Some(c) = currency {
        let typed = input.price.trim();
        match Money::parse_major(typed, c) {
            _ if typed.is_empty() => errors.push(("price", "Enter a price.".into())),
            Ok(m) if m.minor <= 0 => {
                errors.push(("price", "The price must be more than zero.".into()))
            }
            Ok(m) if m.minor > PRICE_MAX_MINOR => errors.push((
                "price",
                format!(
                    "The price can be at most {}.",
                    Money::new(PRICE_MAX_MINOR, c)
                ),
            )),
            Ok(m) => price = Some(m),
            Err(crate::domain::MoneyError::Overflow) => errors.push((
                "price",
                format!(
                    "The price can be at most {}.",
                    Money::new(PRICE_MAX_MINOR, c)
                ),
            )),
            Err(_) if c.exponent() == 0 => {
                errors.push(("price", format!("Enter a whole number of {c}, like 1500.")))
            }
            Err(_) => errors.push(("price", "Enter a price like 25, 25.5 or 25.50.".to_string())),
        }
    }
    let stock = match input.stock.trim().parse::<i64>() {
        Ok(n) if (0..=STOCK_MAX).contains(&n) => Some(n),
        _ => {
            errors.push((
                "stock",
                "Enter how many you have in stock, a whole number from 0 to 1,000,000.".into(),
            ));
            None
        }
    };
    match (errors.is_empty(), price, stock) {
        (true, Some(price), Some(stock)) => Ok(ValidProduct {
            title,
            description,
            price,
            stock,
        }),
        _ => Err(errors),
    }
}

/// A plain-text description as paragraphs: blank lines separate them (rendered escaped).
pub fn paragraphs(description: &str) -> Vec<String> {
    description
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str, price: &str, currency: &str, stock: &str) -> ProductInput {
        ProductInput {
            title: title.into(),
            description: String::new(),
            price: price.into(),
            currency: currency.into(),
            stock: stock.into(),
        }
    }

    fn fields(r: Result<ValidProduct, Vec<(&'static str, String)>>) -> Vec<&'static str> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.0)
            .collect()
    }

    #[test]
    fn prices_as_people_type_them() {
        for (typed, minor) in [("25", 2500), ("25.5", 2550), ("25.50", 2550), ("0.01", 1)] {
            let p = validate(&input("Mug", typed, "usd", "3")).unwrap();
            assert_eq!(p.price, Money::new(minor, Currency::Usd), "{typed}");
        }
        let yen = validate(&input("Mug", "1500", "JPY", "3")).unwrap();
        assert_eq!(yen.price, Money::new(1500, Currency::Jpy));
        assert_eq!(
            fields(validate(&input("Mug", "15.5", "jpy", "3"))),
            vec!["price"]
        );
    }

    #[test]
    fn bad_values_each_get_their_field() {
        assert_eq!(fields(validate(&input("", "5", "usd", "1"))), vec!["title"]);
        assert_eq!(
            fields(validate(&input(&"x".repeat(121), "5", "usd", "1"))),
            vec!["title"]
        );
        assert!(validate(&input(&"é".repeat(120), "5", "usd", "1")).is_ok());
        for bad in [
            "-5",
            "0",
            "0.00",
            "1000000",
            "abc",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(
                fields(validate(&input("Mug", bad, "usd", "1"))),
                vec!["price"],
                "{bad}"
            );
        }
        assert_eq!(
            fields(validate(&input("Mug", "5", "xyz", "1"))),
            vec!["currency"]
        );
        assert_eq!(
            fields(validate(&input("Mug", "5", "chf", "1"))),
            vec!["currency"]
        );
        for bad in ["-1", "1000001", "", "2.5"] {
            assert_eq!(
                fields(validate(&input("Mug", "5", "usd", bad))),
                vec!["stock"],
                "{bad}"
            );
        }
        assert_eq!(
            fields(validate(&input("", "0", "usd", "-1"))),
            vec!["title", "price", "stock"]
        );
    }

    #[test]
    fn the_largest_price_is_accepted() {
        assert_eq!(
            validate(&input("Mug", "999999.99", "usd", "0"))
                .unwrap()
                .price
                .minor,
            99_999_999
        );
        assert!(validate(&input("Mug", "99999999", "jpy", "0")).is_ok());
        assert_eq!(
            fields(validate(&input("Mug", "100000000", "jpy", "0"))),
            vec!["price"]
        );
    }

    #[test]
    fn descriptions_are_limited_and_split_into_paragraphs() {
        let mut i = input("Mug", "5", "usd", "1");
        i.description = "a".repeat(5001);
        assert_eq!(fields(validate(&i)), vec!["description"]);
        assert_eq!(
            paragraphs("One\r\nline two\r\n\r\n\r\nThree\n\n"),
            vec!["One\nline two", "Three"]
        );
    }
}

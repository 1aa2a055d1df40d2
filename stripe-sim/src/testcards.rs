//! Stripe's test cards and `pm_card_*` tokens, and what each does.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    Succeed,
    /// card_declined with this decline_code.
    Decline(&'static str),
    ExpiredCard,
    IncorrectCvc,
    /// 3-D Secure challenge required on every payment.
    Authenticate,
    /// Succeeds, then a dispute is opened.
    Dispute,
    /// Succeeds; refunds on it fail later.
    RefundFail,
    /// Succeeds; funds go straight to the available balance.
    BypassPending,
}

impl Behavior {
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Succeed => "succeed",
            Behavior::Decline("insufficient_funds") => "decline_insufficient_funds",
            Behavior::Decline(_) => "decline_generic",
            Behavior::ExpiredCard => "expired_card",
            Behavior::IncorrectCvc => "incorrect_cvc",
            Behavior::Authenticate => "authenticate",
            Behavior::Dispute => "dispute",
            Behavior::RefundFail => "refund_fail",
            Behavior::BypassPending => "bypass_pending",
        }
    }

    pub fn parse(s: &str) -> Behavior {
        match s {
            "decline_insufficient_funds" => Behavior::Decline("insufficient_funds"),
            "decline_generic" => Behavior::Decline("generic_decline"),
            "expired_card" => Behavior::ExpiredCard,
            "incorrect_cvc" => Behavior::IncorrectCvc,
            "authenticate" => Behavior::Authenticate,
            "dispute" => Behavior::Dispute,
            "refund_fail" => Behavior::RefundFail,
            "bypass_pending" => Behavior::BypassPending,
            _ => Behavior::Succeed,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TestCard {
    pub number: &'static str,
    pub brand: &'static str,
    pub funding: &'static str,
    pub behavior: Behavior,
}

const CARDS: &[TestCard] = &[
    TestCard {
        number: "4242424242424242",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::Succeed,
    },
    TestCard {
        number: "4000056655665556",
        brand: "visa",
        funding: "debit",
        behavior: Behavior::Succeed,
    },
    TestCard {
        number: "5555555555554444",
        brand: "mastercard",
        funding: "credit",
        behavior: Behavior::Succeed,
    },
    TestCard {
        number: "378282246310005",
        brand: "amex",
        funding: "credit",
        behavior: Behavior::Succeed,
    },
    TestCard {
        number: "4000000000000002",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::Decline("generic_decline"),
    },
    TestCard {
        number: "4000000000009995",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::Decline("insufficient_funds"),
    },
    TestCard {
        number: "4000000000000069",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::ExpiredCard,
    },
    TestCard {
        number: "4000000000000127",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::IncorrectCvc,
    },
    TestCard {
        number: "4000002500003155",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::Authenticate,
    },
    TestCard {
        number: "4000000000000259",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::Dispute,
    },
    TestCard {
        number: "4000000000005126",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::RefundFail,
    },
    TestCard {
        number: "4000000000000077",
        brand: "visa",
        funding: "credit",
        behavior: Behavior::BypassPending,
    },
];

pub fn by_number(number: &str) -> Option<TestCard> {
    CARDS.iter().find(|c| c.number == number).cloned()
}

/// `pm_card_*` magic tokens (also usable as `tok_*`).
pub fn by_token(token: &str) -> Option<TestCard> {
    let name = token
        .strip_prefix("pm_card_")
        .or_else(|| token.strip_prefix("tok_"))?;
    let number = match name {
        "visa" => "4242424242424242",
        "visa_debit" | "visa_debit_us" => "4000056655665556",
        "mastercard" => "5555555555554444",
        "amex" => "378282246310005",
        "chargeDeclined" => "4000000000000002",
        "chargeDeclinedInsufficientFunds" => "4000000000009995",
        "chargeDeclinedExpiredCard" => "4000000000000069",
        "chargeDeclinedIncorrectCvc" => "4000000000000127",
        "authenticationRequired" | "threeDSecure2Required" => "4000002500003155",
        "createDispute" => "4000000000000259",
        "refundFail" => "4000000000005126",
        "bypassPending" => "4000000000000077",
        _ => return None,
    };
    by_number(number)
}

/// Luhn check for card numbers that are not in the test list.
pub fn luhn_valid(number: &str) -> bool {
    if number.len() < 12 || number.len() > 19 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0;
    for (i, b) in number.bytes().rev().enumerate() {
        let mut d = (b - b'0') as u32;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Brand from the number's prefix, for Luhn-valid numbers outside the test list.
pub fn brand_of(number: &str) -> &'static str {
    if number.starts_with('4') {
        "visa"
    } else if number.starts_with('5') || number.starts_with('2') {
        "mastercard"
    } else if number.starts_with("34") || number.starts_with("37") {
        "amex"
    } else if number.starts_with('6') {
        "discover"
    } else {
        "unknown"
    }
}

//! Bar charts drawn as SVG on the server, so they show without JavaScript and pass the CSP
//! (colours are presentation attributes, not inline styles). Money is labelled with the same
//! formatting as everywhere else ([`Money`]'s `Display`).
//!
//! Every bar carries a `<title>` with its day and amount (screen readers and hover), and the
//! chart has a `<title>` and `<desc>` naming what it shows, referenced by `aria-labelledby`.

use std::fmt::Write;

use crate::domain::{Currency, Money};

/// One bar: a label on the x axis (e.g. a date) and its height in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayBar {
    pub label: String,
    pub value_minor: i64,
}

/// A named row of bars; all series of a chart have the same labels in the same order.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub name: &'a str,
    pub bars: &'a [DayBar],
}

/// Fill colours per series, from the stylesheet's palette (brand, warn, ok).
const FILLS: [&str; 3] = ["#3b4fd8", "#c2410c", "#1d7a46"];

const WIDTH: i64 = 640;
const HEIGHT: i64 = 260;
const LEFT: i64 = 84;
const RIGHT: i64 = 8;
const TOP: i64 = 28;
const BOTTOM: i64 = 36;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The smallest 1, 2 or 5 × 10ⁿ (in minor units) at or above `max`, and at least one major
/// unit, so the axis reads in round amounts.
fn nice_ceiling(max: i64, currency: Currency) -> i64 {
    let floor = 10_i64.pow(currency.exponent());
    let target = max.max(floor);
    let mut step = 1_i64;
    loop {
        for m in [1, 2, 5] {
            if let Some(v) = step.checked_mul(m)
                && v >= target
            {
                return v;
            }
        }
        match step.checked_mul(10) {
            Some(s) => step = s,
            None => return target,
        }
    }
}

/// A grouped bar chart (one group per label, one bar per series) as an `<svg>` element.
/// `id` must be unique on the page (it names the title and description elements).
pub fn bar_chart(id: &str, title: &str, currency: Currency, series: &[Series<'_>]) -> String {
    let id = escape(id);
    let labels: Vec<&str> = series
        .first()
        .map(|s| s.bars.iter().map(|b| b.label.as_str()).collect())
        .unwrap_or_default();
    let n = labels.len().max(1) as i64;
    let max = series
        .iter()
        .flat_map(|s| s.bars.iter().map(|b| b.value_minor))
        .max()
        .unwrap_or(0)
        .max(0);
    let top = nice_ceiling(max, currency);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot_h;
    let money = |minor: i64| Money::new(minor, currency).to_string();
    let totals: Vec<String> = series
        .iter()
        .map(|s| {
            let sum = s.bars.iter().map(|b| b.value_minor).sum::<i64>();
            format!("{} {}", s.name, money(sum))
        })
        .collect();
    let desc = match (labels.first(), labels.last()) {
        (Some(first), Some(last)) => format!(
            "Bars per day from {first} to {last}. Totals: {}.",
            totals.join(", ")
        ),
        _ => "No data.".to_string(),
    };

    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="system-ui, sans-serif" font-size="12"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(&desc)
    );
    // Horizontal grid with amounts: 0, half and the top of the scale.
    for (i, value) in [0, top / 2, top].into_iter().enumerate() {
        let y = base - (plot_h * i as i64) / 2;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y}" x2="{}" y2="{y}" stroke="#d9dee8" stroke-width="1"/><text x="{}" y="{}" text-anchor="end" fill="#5b6476">{}</text>"##,
            WIDTH - RIGHT,
            LEFT - 6,
            y + 4,
            escape(&money(value))
        );
    }
    // Legend, top left above the plot.
    let mut lx = LEFT;
    for (k, s) in series.iter().enumerate() {
        let fill = FILLS[k % FILLS.len()];
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="6" width="12" height="12" fill="{fill}"/><text x="{}" y="16" fill="#1d2330">{}</text>"##,
            lx + 16,
            escape(s.name)
        );
        lx += 24 + 8 * s.name.chars().count() as i64;
    }
    let group_w = plot_w as f64 / n as f64;
    let per = series.len().max(1) as f64;
    let bar_w = (group_w * 0.8 / per).max(1.0);
    for (i, label) in labels.iter().enumerate() {
        let x0 = LEFT as f64 + group_w * i as f64 + group_w * 0.1;
        let day_title: Vec<String> = series
            .iter()
            .map(|s| {
                let v = s.bars.get(i).map(|b| b.value_minor).unwrap_or(0);
                format!("{} {}", s.name, money(v))
            })
            .collect();
        let _ = write!(
            svg,
            "<g><title>{}: {}</title>",
            escape(label),
            escape(&day_title.join(", "))
        );
        for (k, s) in series.iter().enumerate() {
            let v = s.bars.get(i).map(|b| b.value_minor).unwrap_or(0).max(0);
            let h = (i128::from(v) * i128::from(plot_h) / i128::from(top)) as i64;
            let x = x0 + bar_w * k as f64;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{}" width="{bar_w:.1}" height="{h}" fill="{}"><title>{}: {} {}</title></rect>"#,
                base - h,
                FILLS[k % FILLS.len()],
                escape(label),
                escape(s.name),
                escape(&money(v))
            );
        }
        svg.push_str("</g>");
    }
    // About five date labels along the bottom, so they never overlap at any width.
    let step = labels.len().div_ceil(5).max(1);
    for (i, label) in labels.iter().enumerate() {
        if i % step != 0 && i + 1 != labels.len() {
            continue;
        }
        if i + 1 == labels.len() && i % step != 0 && i % step < step / 2 {
            continue;
        }
        let cx = LEFT as f64 + group_w * (i as f64 + 0.5);
        // The last label ends at its bar: centred, it ran past the right edge and was cut.
        let anchor = if i + 1 == labels.len() {
            "end"
        } else {
            "middle"
        };
        let x = if i + 1 == labels.len() {
            cx + group_w / 2.0
        } else {
            cx
        };
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{}" text-anchor="{anchor}" fill="#5b6476">{}</text>"##,
            base + 20,
            escape(label)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(values: &[i64]) -> Vec<DayBar> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| DayBar {
                label: format!("2026-12-{:02}", i + 1),
                value_minor: *v,
            })
            .collect()
    }

    #[test]
    fn draws_titled_bars_and_money_axis() {
        let sales = bars(&[4000, 0, 1250]);
        let fees = bars(&[230, 0, 93]);
        let svg = bar_chart(
            "sales",
            "Sales & fees",
            Currency::Usd,
            &[
                Series {
                    name: "Sales",
                    bars: &sales,
                },
                Series {
                    name: "Fees",
                    bars: &fees,
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"<title id="sales-title">Sales &amp; fees</title>"#));
        assert!(svg.contains("Totals: Sales $52.50, Fees $3.23."));
        assert!(svg.contains("<title>2026-12-01: Sales $40.00</title>"));
        assert!(svg.contains("<title>2026-12-03: Fees $0.93</title>"));
        // the scale tops out at a round $50.00
        assert!(svg.contains(">$50.00</text>") && svg.contains(">$25.00</text>"));
        assert_eq!(svg.matches("<rect").count(), 6 + 2, "bars and legend keys");
    }

    #[test]
    fn empty_and_zero_days_still_draw_an_axis() {
        let none = bars(&[0, 0]);
        let svg = bar_chart(
            "x",
            "Nothing",
            Currency::Jpy,
            &[Series {
                name: "Sales",
                bars: &none,
            }],
        );
        assert!(svg.contains(">¥1</text>"), "{svg}");
        let svg = bar_chart("y", "Empty", Currency::Usd, &[]);
        assert!(svg.contains("<desc id=\"y-desc\">No data.</desc>"));
    }

    #[test]
    fn scales_round_up_to_one_two_or_five() {
        assert_eq!(nice_ceiling(4000, Currency::Usd), 5000);
        assert_eq!(nice_ceiling(5000, Currency::Usd), 5000);
        assert_eq!(nice_ceiling(5001, Currency::Usd), 10_000);
        assert_eq!(nice_ceiling(0, Currency::Usd), 100);
        assert_eq!(nice_ceiling(1500, Currency::Jpy), 2000);
    }
}

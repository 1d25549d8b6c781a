//! A bar chart as plain SVG, drawn on the server: no chart library, no script.

/// One bar, in the chart's own coordinates (viewBox 0 0 WIDTH HEIGHT).
#[derive(Debug, Clone)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub label: String,
}

pub const WIDTH: u32 = 600;
pub const HEIGHT: u32 = 160;

/// Bars for `(label, value)` points; the tallest bar fills the height.
pub fn bars(points: &[(String, i64)]) -> Vec<Bar> {
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let count = u32::try_from(points.len()).unwrap_or(1).max(1);
    let slot = WIDTH / count;
    points
        .iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let height = u32::try_from(value * i64::from(HEIGHT - 10) / max).unwrap_or(0);
            Bar {
                x: u32::try_from(i).unwrap_or(0) * slot + 1,
                y: HEIGHT - height,
                width: slot.saturating_sub(2).max(1),
                height,
                label: format!("{label}: {value}"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tallest_bar_fills_the_chart_and_empty_days_are_flat() {
        let bars = bars(&[("a".into(), 0), ("b".into(), 5), ("c".into(), 10)]);
        assert_eq!(bars[0].height, 0);
        assert_eq!(bars[2].height, HEIGHT - 10);
        assert_eq!(bars[1].height, (HEIGHT - 10) / 2);
        assert!(bars[2].x > bars[1].x);
    }
}

//! Correction windows: when the operator may correct drift (`Mon-Fri 09:00-17:00 UTC`). Outside a
//! window drift is alerted, not corrected — except invariant breaches, which are always corrected.

use std::fmt;

/// Days (Monday = 0) and a span of the day in minutes, in UTC. `end < start` spans midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrectionWindow {
    pub days: [bool; 7],
    pub start: u32,
    pub end: u32,
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl CorrectionWindow {
    /// Parses `DAYS HH:MM-HH:MM UTC`, DAYS being `Mon-Fri`, `Sat,Sun`, `Mon-Wed,Fri` or `daily`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days, span, zone] = parts.as_slice() else {
            return Err(format!(
                "`{text}` is not a window: write it as `Mon-Fri 09:00-17:00 UTC`"
            ));
        };
        if *zone != "UTC" {
            return Err(format!(
                "`{zone}`: windows are in UTC; write the times in UTC and end with `UTC`"
            ));
        }
        let mut set = [false; 7];
        if days.eq_ignore_ascii_case("daily") {
            set = [true; 7];
        } else {
            for item in days.split(',') {
                let day = |d: &str| {
                    DAYS.iter()
                        .position(|x| x.eq_ignore_ascii_case(d))
                        .ok_or_else(|| format!("`{d}` is not a day (Mon..Sun)"))
                };
                match item.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (day(a)?, day(b)?);
                        let mut i = a;
                        loop {
                            set[i] = true;
                            if i == b {
                                break;
                            }
                            i = (i + 1) % 7;
                        }
                    }
                    None => set[day(item)?] = true,
                }
            }
        }
        let (a, b) = span
            .split_once('-')
            .ok_or_else(|| format!("`{span}`: write the span as HH:MM-HH:MM"))?;
        let minute = |t: &str| -> Result<u32, String> {
            let (h, m) = t.split_once(':').ok_or_else(|| format!("`{t}` is not HH:MM"))?;
            let (h, m): (u32, u32) = (
                h.parse().map_err(|_| format!("`{t}` is not HH:MM"))?,
                m.parse().map_err(|_| format!("`{t}` is not HH:MM"))?,
            );
            if h > 24 || m > 59 || (h == 24 && m > 0) {
                return Err(format!("`{t}` is not a time of day"));
            }
            Ok(h * 60 + m)
        };
        let (start, end) = (minute(a)?, minute(b)?);
        if start == end {
            return Err(format!("`{span}` is empty"));
        }
        Ok(CorrectionWindow { days: set, start, end })
    }

    /// Whether `weekday` (Monday = 0) at `minute` of the day (UTC) is inside the window. A span that
    /// crosses midnight belongs to the day it starts on.
    pub fn contains(&self, weekday: usize, minute: u32) -> bool {
        if self.start < self.end {
            self.days[weekday % 7] && (self.start..self.end).contains(&minute)
        } else {
            (self.days[weekday % 7] && minute >= self.start) || (self.days[(weekday + 6) % 7] && minute < self.end)
        }
    }
}

impl fmt::Display for CorrectionWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<&str> = DAYS
            .iter()
            .zip(self.days)
            .filter(|(_, on)| *on)
            .map(|(d, _)| *d)
            .collect();
        write!(
            f,
            "{} {:02}:{:02}-{:02}:{:02} UTC",
            days.join(","),
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_hours() {
        let w = CorrectionWindow::parse("Mon-Fri 09:00-17:00 UTC").unwrap();
        assert!(w.contains(0, 9 * 60));
        assert!(w.contains(4, 16 * 60 + 59));
        assert!(!w.contains(4, 17 * 60));
        assert!(!w.contains(5, 12 * 60), "Saturday");
        assert_eq!(w.to_string(), "Mon,Tue,Wed,Thu,Fri 09:00-17:00 UTC");
    }

    #[test]
    fn overnight_and_lists() {
        let w = CorrectionWindow::parse("Fri-Sun 22:00-06:00 UTC").unwrap();
        assert!(w.contains(4, 23 * 60), "Friday night");
        assert!(w.contains(5, 60), "early Saturday belongs to Friday's window");
        assert!(w.contains(0, 5 * 60), "early Monday belongs to Sunday's window");
        assert!(!w.contains(0, 23 * 60), "Monday night is not in it");
        assert!(
            CorrectionWindow::parse("Sat,Sun 00:00-24:00 UTC")
                .unwrap()
                .contains(6, 1439)
        );
        assert!(
            CorrectionWindow::parse("daily 01:00-02:00 UTC")
                .unwrap()
                .contains(2, 90)
        );
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "Mon-Fri",
            "Mon-Fri 09:00-17:00 JST",
            "Funday 09:00-10:00 UTC",
            "Mon 25:00-26:00 UTC",
            "Mon 09:00-09:00 UTC",
            "Mon 9-17 UTC",
        ] {
            assert!(CorrectionWindow::parse(bad).is_err(), "{bad}");
        }
    }
}

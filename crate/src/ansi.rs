//! ANSI escape sequences in kernel text (tracebacks, progress output).
//!
//! Parsing is done by `anstyle-parse` (a maintained VT parser); this module only maps its
//! SGR ("select graphic rendition") callbacks to styled text runs. The runs are plain
//! data: the panel turns them into text nodes inside `<span>`s, never into HTML.

use anstyle_parse::{Params, Parser, Perform};

/// A terminal colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// One of the 256 palette colours (0–15 are the themeable named ones).
    Index(u8),
    /// A 24-bit colour.
    Rgb(u8, u8, u8),
}

/// How a run of text is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Foreground colour, `None` for the default.
    pub fg: Option<Color>,
    /// Background colour, `None` for the default.
    pub bg: Option<Color>,
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
    /// Underlined.
    pub underline: bool,
}

/// A run of text with one style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The text, escapes removed.
    pub text: String,
    /// Its style.
    pub style: Style,
}

impl Color {
    /// The CSS class for a named colour (`pc-ansi-red-fg`, `pc-ansi-red-intense-bg`), or
    /// `None` for colours that need an explicit `rgb()`.
    pub fn class(self, layer: &str) -> Option<String> {
        match self {
            Color::Index(i) if i < 16 => {
                let name = BASE_NAMES[usize::from(i % 8)];
                let intense = if i >= 8 { "-intense" } else { "" };
                Some(format!("pc-ansi-{name}{intense}-{layer}"))
            }
            _ => None,
        }
    }

    /// The colour as `(r, g, b)` (palette colours ≥ 16 by the xterm formula).
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Color::Rgb(r, g, b) => (r, g, b),
            Color::Index(i) if i >= 232 => {
                let v = 8 + 10 * (i - 232);
                (v, v, v)
            }
            Color::Index(i) if i >= 16 => {
                const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
                let i = i - 16;
                (
                    LEVELS[usize::from(i / 36)],
                    LEVELS[usize::from((i / 6) % 6)],
                    LEVELS[usize::from(i % 6)],
                )
            }
            Color::Index(i) => XTERM_16[usize::from(i % 16)],
        }
    }
}

/// SGR colour order (30 + n).
const BASE_NAMES: [&str; 8] = [
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
];

const XTERM_16: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

/// Split `text` into styled runs, dropping every escape sequence.
pub fn spans(text: &str) -> Vec<Span> {
    let mut parser = Parser::<anstyle_parse::DefaultCharAccumulator>::new();
    let mut runs = Runs::default();
    for b in text.bytes() {
        parser.advance(&mut runs, b);
    }
    runs.flush();
    runs.out
}

/// `text` without escape sequences.
pub fn strip(text: &str) -> String {
    spans(text).into_iter().map(|s| s.text).collect()
}

#[derive(Default)]
struct Runs {
    style: Style,
    text: String,
    out: Vec<Span>,
}

impl Runs {
    fn flush(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        match self.out.last_mut() {
            Some(last) if last.style == self.style => last.text.push_str(&text),
            _ => self.out.push(Span {
                text,
                style: self.style,
            }),
        }
    }

    fn sgr(&mut self, params: &Params) {
        let mut it = params.iter();
        let mut any = false;
        while let Some(p) = it.next() {
            any = true;
            let code = p.first().copied().unwrap_or(0);
            match code {
                0 => self.style = Style::default(),
                1 => self.style.bold = true,
                3 => self.style.italic = true,
                4 => self.style.underline = true,
                22 => self.style.bold = false,
                23 => self.style.italic = false,
                24 => self.style.underline = false,
                30..=37 => self.style.fg = Some(Color::Index((code - 30) as u8)),
                39 => self.style.fg = None,
                40..=47 => self.style.bg = Some(Color::Index((code - 40) as u8)),
                49 => self.style.bg = None,
                90..=97 => self.style.fg = Some(Color::Index((code - 90 + 8) as u8)),
                100..=107 => self.style.bg = Some(Color::Index((code - 100 + 8) as u8)),
                38 | 48 => {
                    // Either `38:5:n` (sub-parameters) or `38;5;n` (following parameters).
                    let rest: Vec<u16> = if p.len() > 1 {
                        p[1..].to_vec()
                    } else {
                        let mode = it.next().and_then(|q| q.first().copied());
                        let n = match mode {
                            Some(5) => 1,
                            Some(2) => 3,
                            _ => 0,
                        };
                        let mut v: Vec<u16> = mode.into_iter().collect();
                        v.extend(it.by_ref().take(n).filter_map(|q| q.first().copied()));
                        v
                    };
                    let color = match rest.as_slice() {
                        [5, n, ..] => Some(Color::Index(byte(*n))),
                        [2, r, g, b, ..] => Some(Color::Rgb(byte(*r), byte(*g), byte(*b))),
                        _ => None,
                    };
                    if code == 38 {
                        self.style.fg = color;
                    } else {
                        self.style.bg = color;
                    }
                }
                _ => {}
            }
        }
        if !any {
            self.style = Style::default();
        }
    }
}

fn byte(v: u16) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

impl Perform for Runs {
    fn print(&mut self, c: char) {
        self.text.push(c);
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' | b'\t' => self.text.push(char::from(byte)),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, _intermediates: &[u8], _ignore: bool, action: u8) {
        if action == b'm' {
            self.flush();
            self.sgr(params);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ipython_traceback_colours() {
        let s = "\u{1b}[0;31mZeroDivisionError\u{1b}[0m: division by zero";
        assert_eq!(strip(s), "ZeroDivisionError: division by zero");
    }

    #[test]
    fn maps_sgr_to_styles() {
        let runs = spans("a\u{1b}[1;31mb\u{1b}[38;5;208mc\u{1b}[38:2:1:2:3md\u{1b}[0me\u{1b}[92mf");
        let texts: Vec<&str> = runs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(runs[0].style, Style::default());
        assert!(runs[1].style.bold);
        assert_eq!(runs[1].style.fg, Some(Color::Index(1)));
        assert_eq!(runs[2].style.fg, Some(Color::Index(208)));
        assert!(runs[2].style.bold, "bold survives a colour change");
        assert_eq!(runs[3].style.fg, Some(Color::Rgb(1, 2, 3)));
        assert_eq!(runs[4].style, Style::default());
        assert_eq!(runs[5].style.fg, Some(Color::Index(10)));
        assert_eq!(
            runs[5].style.fg.and_then(|c| c.class("fg")).as_deref(),
            Some("pc-ansi-green-intense-fg")
        );
        assert_eq!(Color::Index(208).class("fg"), None);
        assert_eq!(Color::Index(208).rgb(), (255, 135, 0));
        assert_eq!(Color::Index(232).rgb(), (8, 8, 8));
    }

    #[test]
    fn html_is_just_text() {
        assert_eq!(strip("<script>x</script>"), "<script>x</script>");
    }
}

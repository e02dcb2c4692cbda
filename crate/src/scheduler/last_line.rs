//! A job's live last line, read from its stream output as a terminal shows it.

use anstyle_parse::{Params, Parser, Perform};

/// The longest live line kept (characters); longer lines keep their start.
pub const MAX_LINE: usize = 400;

/// Text past twice this many bytes is read from its last lines, at least this many bytes.
const TAIL_BYTES: usize = 8 * 1024;

/// The last line of a job's stream output, kept live the way a terminal shows it:
/// `\r` returns to the line start (progress bars), `\n` ends a line, escapes are dropped,
/// and a line split across output batches is joined.
#[derive(Clone, Debug, Default)]
pub struct LastLine {
    parser: Parser,
    line: Line,
}

#[derive(Clone, Debug, Default)]
struct Line {
    /// The line being written.
    current: String,
    /// Characters in `current`.
    current_chars: usize,
    /// The last complete non-blank line.
    last: String,
    /// A `\r` came: the next character starts the line over.
    at_line_start: bool,
}

impl LastLine {
    /// Take more stream text. A long text is read from a line start near its end, and the
    /// whole only when that tail held no complete line (why: docs/architecture.md).
    pub fn feed(&mut self, text: &str) {
        let bytes = text.as_bytes();
        if bytes.len() > 2 * TAIL_BYTES {
            let head = &bytes[..bytes.len() - TAIL_BYTES];
            if let Some(newline) = head.iter().rposition(|&b| b == b'\n') {
                let mut tail = LastLine::default();
                tail.read(&bytes[newline + 1..]);
                if !tail.line.last.is_empty() {
                    *self = tail;
                    return;
                }
            }
        }
        self.read(bytes);
    }

    fn read(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.parser.advance(&mut self.line, b);
        }
    }

    /// What to show: the line being written if it has text, else the last complete one.
    pub fn get(&self) -> &str {
        if self.line.current.trim().is_empty() {
            &self.line.last
        } else {
            &self.line.current
        }
    }

    /// Forget everything (the cell's output was cleared).
    pub fn clear(&mut self) {
        self.line = Line::default();
    }
}

impl Perform for Line {
    fn print(&mut self, c: char) {
        if self.at_line_start {
            self.current.clear();
            self.current_chars = 0;
            self.at_line_start = false;
        }
        if self.current_chars < MAX_LINE {
            self.current.push(c);
            self.current_chars += 1;
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' => {
                if !self.current.trim().is_empty() {
                    self.last = std::mem::take(&mut self.current);
                }
                self.current.clear();
                self.current_chars = 0;
                self.at_line_start = false;
            }
            b'\r' => self.at_line_start = true,
            b'\t' => self.print(' '),
            // Backspace.
            0x08 => {
                let popped = self.current.pop().is_some();
                self.current_chars -= usize::from(popped);
            }
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, _: &[u8], _: bool, action: u8) {
        // `ESC[K`/`ESC[2K` (erase line) after `\r` is how many progress bars redraw.
        if action == b'K' && params.iter().all(|p| p.first().is_none_or(|&n| n != 1)) {
            self.current.clear();
            self.current_chars = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(chunks: &[&str]) -> String {
        let mut l = LastLine::default();
        for c in chunks {
            l.feed(c);
        }
        l.get().to_owned()
    }

    #[test]
    fn last_complete_line() {
        assert_eq!(fed(&["0\n1\n"]), "1");
        assert_eq!(fed(&["a\n\n  \n"]), "a");
    }

    #[test]
    fn partial_lines_join_across_batches() {
        assert_eq!(fed(&["epo", "ch 3"]), "epoch 3");
        assert_eq!(fed(&["x\nepo", "ch 3\n"]), "epoch 3");
    }

    #[test]
    fn carriage_return_overwrites() {
        assert_eq!(fed(&["10%\r", "20%\r", "30%"]), "30%");
        assert_eq!(fed(&["done\r\n"]), "done");
        assert_eq!(fed(&["\u{1b}[31m50%\u{1b}[0m\r\u{1b}[K", "60%"]), "60%");
    }

    #[test]
    fn a_long_text_reads_as_when_read_whole() {
        // What is shown, the last complete line and the line being written, after
        // `take` of every chunk.
        fn after(chunks: &[&str], take: fn(&mut LastLine, &str)) -> (String, String, String) {
            let mut l = LastLine::default();
            for c in chunks {
                take(&mut l, c);
            }
            (l.get().to_owned(), l.line.last, l.line.current)
        }
        let whole = |chunks: &[&str]| after(chunks, |l, c| l.read(c.as_bytes()));
        let fast = |chunks: &[&str]| after(chunks, LastLine::feed);
        let lines: String = (0..3000).map(|i| format!("line {i} é中😀\n")).collect();
        let blanks = format!("real last\n{}", "\n  \n".repeat(10_000));
        let no_newline = "x".repeat(40_000) + "\r50%";
        let cases: [&[&str]; 6] = [
            &[&lines],
            &[&lines, "partial"],
            &[&lines, "\rprogress \u{1b}[31m10%\u{1b}[0m"],
            &[&blanks],
            &[&no_newline, " more"],
            &["earlier\n", &format!("{lines}\u{1b}[1mbold\u{1b}[0m tail")],
        ];
        for chunks in cases {
            assert_eq!(fast(chunks), whole(chunks));
        }
        assert_eq!(fast(&[&blanks]).0, "real last");
    }

    #[test]
    fn long_lines_are_capped() {
        let long = "x".repeat(MAX_LINE * 3);
        assert_eq!(fed(&[&long]).chars().count(), MAX_LINE);
    }
}

//! A traceback with its ANSI colours, built from text nodes and `<span>`s.
//!
//! Kernel text never reaches `innerHTML`: each styled run becomes a text node (plain) or
//! a `<span>` whose text is set with `textContent`; colours are class names we choose
//! (`pc-ansi-red-fg`) or an `rgb()` made of numbers.

use web_sys::{Document, Element};

use super::dom_err;
use crate::ansi::{self, Style};
use crate::error::Result;

/// Fill `pre` with the traceback `lines`.
pub fn render(document: &Document, pre: &Element, lines: &[String]) -> Result<()> {
    let text = lines.join("\n");
    for span in ansi::spans(&text) {
        if span.style == Style::default() {
            let node = document.create_text_node(&span.text);
            pre.append_child(&node).map_err(dom_err)?;
            continue;
        }
        let el = document.create_element("span").map_err(dom_err)?;
        let classes = classes(&span.style);
        if !classes.is_empty() {
            el.set_class_name(&classes);
        }
        let style = inline_style(&span.style);
        if !style.is_empty() {
            el.set_attribute("style", &style).map_err(dom_err)?;
        }
        el.set_text_content(Some(&span.text));
        pre.append_child(&el).map_err(dom_err)?;
    }
    Ok(())
}

/// The CSS classes for a style (named colours and attributes).
pub fn classes(style: &Style) -> String {
    let mut out: Vec<String> = Vec::new();
    out.extend(style.fg.and_then(|c| c.class("fg")));
    out.extend(style.bg.and_then(|c| c.class("bg")));
    if style.bold {
        out.push("pc-ansi-bold".into());
    }
    if style.italic {
        out.push("pc-ansi-italic".into());
    }
    if style.underline {
        out.push("pc-ansi-underline".into());
    }
    out.join(" ")
}

/// An inline style for colours outside the 16 themeable ones (made only of numbers).
pub fn inline_style(style: &Style) -> String {
    let mut out = String::new();
    for (prop, color) in [("color", style.fg), ("background-color", style.bg)] {
        if let Some(c) = color.filter(|c| c.class("fg").is_none()) {
            let (r, g, b) = c.rgb();
            out.push_str(&format!("{prop}: rgb({r}, {g}, {b});"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ansi::Color;

    #[test]
    fn styles_become_classes_or_numbers() {
        let s = Style {
            fg: Some(Color::Index(1)),
            bg: Some(Color::Rgb(1, 2, 3)),
            bold: true,
            ..Style::default()
        };
        assert_eq!(classes(&s), "pc-ansi-red-fg pc-ansi-bold");
        assert_eq!(inline_style(&s), "background-color: rgb(1, 2, 3);");
    }
}

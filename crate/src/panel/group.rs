//! A notebook's group of rows: a section with a heading and a list.

use web_sys::Element;

use super::dom::el;
use super::{dom_err, Panel};
use crate::error::Result;
use crate::text::{T_GROUP_LIST, T_KERNEL_GROUP};

/// The rows of one notebook (or of the jobs started in a kernel).
pub(super) struct Group {
    pub section: Element,
    pub list: Element,
    pub rows: usize,
}

impl Panel {
    /// The `<ul>` of a notebook's group, created on first use.
    pub(super) fn group(&mut self, notebook: &str) -> Result<Element> {
        if let Some(g) = self.groups.get_mut(notebook) {
            g.rows += 1;
            return Ok(g.list.clone());
        }
        let section = el(&self.document, "section", "pc-group")?;
        section
            .set_attribute("data-notebook", notebook)
            .map_err(dom_err)?;
        let heading = el(&self.document, "h3", "pc-group-title")?;
        let label = if notebook.is_empty() {
            self.text.get(T_KERNEL_GROUP)
        } else {
            notebook
        };
        heading.set_text_content(Some(label));
        heading.set_attribute("title", label).map_err(dom_err)?;
        let list = el(&self.document, "ul", "pc-job-list")?;
        list.set_attribute("role", "list").map_err(dom_err)?;
        list.set_attribute(
            "aria-label",
            &self.text.fill(T_GROUP_LIST, "{notebook}", label),
        )
        .map_err(dom_err)?;
        section.append_child(&heading).map_err(dom_err)?;
        section.append_child(&list).map_err(dom_err)?;
        self.groups_el.append_child(&section).map_err(dom_err)?;
        self.groups.insert(
            notebook.to_owned(),
            Group {
                section,
                list: list.clone(),
                rows: 1,
            },
        );
        Ok(list)
    }

    /// A row left `notebook`'s group: the last one takes the group with it.
    pub(super) fn leave(&mut self, notebook: &str) {
        if let Some(g) = self.groups.get_mut(notebook) {
            g.rows -= 1;
            if g.rows == 0 {
                g.section.remove();
                self.groups.remove(notebook);
            }
        }
    }
}

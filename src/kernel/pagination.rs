//! Page-number pagination for every list: which rows a page asks for, how many pages a count
//! makes, and what the pager under a list shows (`templates/pager.html`, its one piece of
//! markup). Lists that are not counted (a filtered scan would cost more than the page) show
//! "Page N" and a next link while a row more than the page exists.

/// The last page number anyone may ask for: deeper OFFSETs only cost the database.
pub const MAX_PAGE: i64 = 100_000;

/// One page of a list: its 1-based number and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub number: i64,
    pub size: i64,
}

impl PageRequest {
    /// Page `number` of `size` rows; a missing or out-of-range number is brought into 1..=MAX_PAGE.
    pub fn new(number: Option<i64>, size: i64) -> Self {
        Self { number: number.unwrap_or(1).clamp(1, MAX_PAGE), size: size.max(1) }
    }

    /// The same request with its number brought back to the last page that starts within
    /// `max_offset` rows.
    pub fn no_deeper_than(self, max_offset: i64) -> Self {
        Self { number: self.number.min(max_offset / self.size + 1), ..self }
    }

    pub fn offset(self) -> i64 {
        (self.number - 1) * self.size
    }

    /// How many pages `total` rows fill (at least one, so an empty list is "page 1 of 1").
    pub fn page_count(self, total: i64) -> i64 {
        ((total + self.size - 1) / self.size).max(1)
    }
}

/// The pager under a list: previous and next links that keep the list's other parameters.
#[derive(Clone, Debug)]
pub struct Pager {
    pub current: i64,
    /// Known when the list was counted.
    pub pages: Option<i64>,
    pub has_next: bool,
    /// The list's query string without `page`, URL-encoded (`q=x&author=y`).
    pub query: String,
    /// The links' words: ("← Previous", "Next →"), or ("← Newer", "Older →") for newest-first lists.
    pub labels: (&'static str, &'static str),
    /// Set when the next page is asked for with a cursor (`before=<id>`) instead of a number.
    pub next_before: Option<i64>,
    /// Whether this page was itself reached with a cursor: it has no number, and the way back
    /// leads to the first page.
    pub by_cursor: bool,
}

impl Pager {
    /// A pager for a list of `total` rows.
    pub fn counted(page: PageRequest, total: i64, query: String) -> Self {
        let pages = page.page_count(total);
        Self { has_next: page.number < pages, pages: Some(pages), ..Self::uncounted(page, false, query) }
    }

    /// A pager for a list that was not counted: `has_next` says a row beyond this page exists.
    pub fn uncounted(page: PageRequest, has_next: bool, query: String) -> Self {
        Self {
            current: page.number,
            pages: None,
            has_next,
            query,
            labels: NUMBERED,
            next_before: None,
            by_cursor: false,
        }
    }

    /// A pager for a page reached with a cursor; `next_before` starts the page after it.
    pub fn cursor(next_before: Option<i64>, query: String) -> Self {
        let first = PageRequest::new(None, 1);
        Self { has_next: next_before.is_some(), next_before, by_cursor: true, ..Self::uncounted(first, false, query) }
    }

    /// Makes the next link a cursor (`before=<id>`): for the numbered page past which OFFSETs
    /// stop (their cost grows with depth; a cursor's does not).
    pub fn continue_below(self, next_before: Option<i64>) -> Self {
        Self { has_next: self.has_next && next_before.is_some(), next_before, ..self }
    }

    /// Labels for lists sorted newest first.
    pub fn newest_first(self) -> Self {
        Self { labels: ("← Newer", "Older →"), ..self }
    }

    pub fn has_prev(&self) -> bool {
        self.current > 1 || self.by_cursor
    }

    pub fn prev_href(&self) -> String {
        self.href("page", self.current - if self.by_cursor { 0 } else { 1 })
    }

    pub fn next_href(&self) -> String {
        match self.next_before {
            Some(id) => self.href("before", id),
            None => self.href("page", self.current + 1),
        }
    }

    /// "Page 2 of 5", or "Page 2" when the list was not counted, or "Further back" on a page
    /// reached with a cursor.
    pub fn position(&self) -> String {
        match (self.by_cursor, self.pages) {
            (true, _) => "Further back".to_owned(),
            (false, Some(pages)) => format!("Page {} of {pages}", self.current),
            (false, None) => format!("Page {}", self.current),
        }
    }

    fn href(&self, key: &str, value: i64) -> String {
        if self.query.is_empty() { format!("?{key}={value}") } else { format!("?{}&{key}={value}", self.query) }
    }
}

const NUMBERED: (&str, &str) = ("← Previous", "Next →");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_counted_pager_links_both_ways_inside_the_list() {
        let pager = Pager::counted(PageRequest::new(Some(2), 10), 25, "q=a%26b".into());
        assert_eq!(pager.position(), "Page 2 of 3");
        assert_eq!((pager.prev_href().as_str(), pager.next_href().as_str()), ("?q=a%26b&page=1", "?q=a%26b&page=3"));
        let last = Pager::counted(PageRequest::new(Some(3), 10), 25, String::new());
        assert!(!last.has_next && last.has_prev());
        assert_eq!(Pager::counted(PageRequest::new(None, 10), 0, String::new()).position(), "Page 1 of 1");
    }

    #[test]
    fn a_cursor_page_links_further_back_by_cursor_and_back_to_the_first_page() {
        let pager = Pager::cursor(Some(480), "q=x".into());
        assert_eq!((pager.position().as_str(), pager.has_prev()), ("Further back", true));
        assert_eq!((pager.prev_href().as_str(), pager.next_href().as_str()), ("?q=x&page=1", "?q=x&before=480"));
        assert!(!Pager::cursor(None, String::new()).has_next);
        let deep = Pager::counted(PageRequest::new(Some(500), 20), 1_000_000, String::new()).continue_below(Some(7));
        assert_eq!((deep.position().as_str(), deep.next_href().as_str()), ("Page 500 of 50000", "?before=7"));
    }

    #[test]
    fn an_uncounted_pager_shows_the_page_number_only() {
        let pager = Pager::uncounted(PageRequest::new(Some(4), 25), true, String::new());
        assert_eq!((pager.position().as_str(), pager.has_next), ("Page 4", true));
    }

    proptest! {
        #[test]
        fn any_requested_page_is_in_range_and_its_offset_fits(number in proptest::option::of(any::<i64>()), size in 1i64..500) {
            let page = PageRequest::new(number, size);
            prop_assert!((1..=MAX_PAGE).contains(&page.number));
            prop_assert_eq!(page.offset(), (page.number - 1) * size);
        }
    }
}

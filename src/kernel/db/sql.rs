//! Assembling one statement from fixed pieces, for queries whose WHERE clause depends on which
//! filters are set (an "any" filter written as `$n IS NULL OR …` keeps the planner off the
//! indexes). Only `&'static str` pieces go in, so no user text can ever become SQL; values are
//! always bound. sqlx's own `QueryBuilder` writes `?` placeholders, which PostgreSQL rejects
//! through the `Any` driver, hence this small writer of `$n`.

/// `%text%` for `LIKE … ESCAPE '\'`, with the text's own `%`, `_` and `\` taken literally.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    params: usize,
}

impl Sql {
    pub fn new(head: &'static str) -> Self {
        Self { text: head.to_owned(), params: 0 }
    }

    /// Appends a fixed piece.
    pub fn push(&mut self, piece: &'static str) -> &mut Self {
        self.text.push_str(piece);
        self
    }

    /// Appends the next placeholder (`$1`, `$2`, …); the caller binds values in the same order.
    pub fn param(&mut self) -> &mut Self {
        self.params += 1;
        self.text.push('$');
        self.text.push_str(&self.params.to_string());
        self
    }

    /// `piece` with every `?` replaced by the same next placeholder: for one value used twice.
    pub fn push_with_param(&mut self, piece: &'static str) -> &mut Self {
        self.params += 1;
        let placeholder = format!("${}", self.params);
        self.text.push_str(&piece.replace('?', &placeholder));
        self
    }

    pub fn finish(self) -> sqlx::AssertSqlSafe<String> {
        // Safe: built only from `&'static str` pieces and numbered placeholders.
        sqlx::AssertSqlSafe(self.text)
    }

    #[cfg(test)]
    fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::Sql;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(super::contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut sql = Sql::new("SELECT * FROM users WHERE TRUE");
        sql.push(" AND is_active = ").param();
        sql.push_with_param(" AND (username_key LIKE ? OR email_key LIKE ?)");
        sql.push(" LIMIT ").param();
        assert_eq!(
            sql.text(),
            "SELECT * FROM users WHERE TRUE AND is_active = $1 AND (username_key LIKE $2 OR email_key LIKE $2) LIMIT $3"
        );
    }
}

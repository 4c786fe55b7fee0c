//! The types every store module writes its SQL against, and a query builder whose
//! placeholders both engines read.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Arguments, Encode, Type};

/// The database type of every query: sqlx's `Any`, which is SQLite or PostgreSQL at run
/// time (see [`super::Store`]).
pub(crate) type Db = sqlx::Any;
/// A row from either engine.
pub(crate) type DbRow = AnyRow;
/// A write transaction on either engine.
pub(crate) type Tx = sqlx::Transaction<'static, Db>;

/// Builds a statement from pieces, numbering its bound values `$1`, `$2`, ... — sqlx's
/// `QueryBuilder` writes `?` for `Any`, which PostgreSQL does not read; SQLite reads the
/// numbered form too.
pub(crate) struct SqlBuilder<'a> {
    sql: String,
    args: AnyArguments<'a>,
    count: usize,
    /// `?` placeholders instead of `$n` (SQLite only: see [`SqlBuilder::positional`]).
    positional: bool,
}

impl<'a> SqlBuilder<'a> {
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            args: AnyArguments::default(),
            count: 0,
            positional: false,
        }
    }

    /// A builder writing `?` placeholders, for statements that only SQLite runs. The values
    /// are bound in the order they appear either way; but for a numbered one sqlx asks
    /// SQLite for each parameter's name, every execution, and SQLite finds it by walking
    /// the statement's list of names: quadratic in the parameters, and the largest single
    /// cost of the intake writer's thread with a statement of hundreds of them. A `?` has
    /// no name, so there is nothing to walk.
    pub(crate) fn positional(sql: impl Into<String>) -> Self {
        Self {
            positional: true,
            ..Self::new(sql)
        }
    }

    /// A builder for a statement run on `conn`: [`SqlBuilder::positional`] on SQLite,
    /// numbered on PostgreSQL (which reads no `?`).
    pub(crate) fn for_connection(conn: &sqlx::AnyConnection, sql: impl Into<String>) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Self::positional(sql)
        } else {
            Self::new(sql)
        }
    }

    pub(crate) fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Db> + Type<Db>,
    {
        self.count += 1;
        if self.positional {
            self.sql.push('?');
        } else {
            self.sql.push('$');
            self.sql.push_str(&self.count.to_string());
        }
        // Adding to `AnyArguments` only fails for a value that cannot encode; every type
        // bound here is an integer or a string.
        self.args.add(value).expect("a bindable value");
        self
    }

    /// Appends `(p1, p2, ...)` for `values`.
    pub(crate) fn push_list<T>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: 'a + Encode<'a, Db> + Type<Db>,
    {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(v);
        }
        self.push(")")
    }

    /// The statement, ready to run; the builder keeps its text.
    pub(crate) fn build(&mut self) -> sqlx::query::Query<'_, Db, AnyArguments<'_>> {
        let args = std::mem::take(&mut self.args);
        sqlx::query_with(&self.sql, args)
    }

    pub(crate) fn build_query_scalar<O>(
        &mut self,
    ) -> sqlx::query::QueryScalar<'_, Db, O, AnyArguments<'_>>
    where
        O: for<'r> sqlx::Decode<'r, Db> + Type<Db>,
    {
        let args = std::mem::take(&mut self.args);
        sqlx::query_scalar_with(&self.sql, args)
    }
}

/// Sizes to split `n` rows into: powers of two, largest first. A multi-row statement's
/// text depends on its row count, and each text is prepared once per connection; powers of
/// two keep that to a handful of statements whatever the batch sizes.
pub(crate) fn pow2_chunks(mut n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while n > 0 {
        let c = 1usize << (usize::BITS - 1 - n.leading_zeros());
        out.push(c);
        n -= c;
    }
    out
}

/// Appends `(v1, v2, ...)` rows, comma-separated, to an `INSERT ... VALUES `.
pub(crate) fn push_rows<'a, T>(
    qb: &mut SqlBuilder<'a>,
    rows: &'a [T],
    mut row: impl FnMut(&mut SqlBuilder<'a>, &'a T),
) {
    for (i, r) in rows.iter().enumerate() {
        qb.push(if i == 0 { "(" } else { ", (" });
        row(qb, r);
        qb.push(")");
    }
}

/// Appends `(VALUES (v1, ...), ...) AS v` for `rows`, padded with rows of `width` NULLs up
/// to the next power of two, for an `INSERT ... SELECT ... FROM` that keeps `WHERE
/// v.column1 IS NOT NULL` (every real row's first value is a non-NULL key). One statement
/// then takes a whole batch, and its text (prepared once per connection) depends only on
/// the padded size, so a handful of texts serve every batch size — where [`pow2_chunks`]
/// needed one statement per chunk, each a round trip to SQLite's connection thread. `row`
/// must bind exactly `width` values.
pub(crate) fn push_padded_values<'a, T>(
    qb: &mut SqlBuilder<'a>,
    rows: &'a [T],
    width: usize,
    mut row: impl FnMut(&mut SqlBuilder<'a>, &'a T),
) {
    qb.push("(VALUES ");
    for (i, r) in rows.iter().enumerate() {
        qb.push(if i == 0 { "(" } else { ", (" });
        row(qb, r);
        qb.push(")");
    }
    for i in rows.len()..rows.len().next_power_of_two() {
        qb.push(if i == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                qb.push(", ");
            }
            qb.push_bind(None::<i64>);
        }
        qb.push(")");
    }
    qb.push(") AS v");
}

/// `v.column1, v.column2, ..., v.column{n}`: the columns of [`push_padded_values`].
pub(crate) fn padded_columns(n: usize) -> String {
    (1..=n)
        .map(|i| format!("v.column{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

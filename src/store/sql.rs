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
}

impl<'a> SqlBuilder<'a> {
    pub(crate) fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            args: AnyArguments::default(),
            count: 0,
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
        self.sql.push('$');
        self.sql.push_str(&self.count.to_string());
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

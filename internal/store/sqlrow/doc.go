// Package sqlrow turns the store's values into SQL column values and back,
// the same for every SQL backend: times as microseconds, JSON columns, and
// the column lists and row scanners of tables both backends read alike.
package sqlrow

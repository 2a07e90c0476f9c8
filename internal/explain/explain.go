// Package explain reads query plans for the benchmark tools' reports.
package explain

import (
	"database/sql"
	"strings"
)

// Lines reads the rows of an EXPLAIN and closes them: the last column of
// each row (SQLite's "detail" of EXPLAIN QUERY PLAN, PostgreSQL's one
// column), one line per row.
func Lines(rows *sql.Rows) (string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	values := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range values {
		dest[i] = &values[i]
	}
	var lines []string
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return "", err
		}
		lines = append(lines, string(values[len(values)-1]))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

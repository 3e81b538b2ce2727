package fleetsim

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
)

// csvHeader names WriteCSV's columns: the bin's start (minutes since
// midnight and time of day), then rates per second, then counts of
// callers' requests.
var csvHeader = []string{"minute", "time", "idp_rps", "idp_caller_rps", "idp_background_rps", "idp_retry_rps", "idp_429_rps",
	"as_rps", "as_429_rps", "requests", "waited", "errors"}

// WriteCSV writes the time series, one row per bin.
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	for _, row := range r.Series {
		rec := []string{
			strconv.FormatFloat(row.Start.Minutes(), 'f', -1, 64), clock(row.Start),
			f(row.IdP), f(row.IdPCaller), f(row.IdPBackground), f(row.IdPRetry), f(row.IdP429), f(row.AS), f(row.AS429),
			strconv.Itoa(int(row.Requests)), strconv.Itoa(int(row.Waited)), strconv.Itoa(int(row.Errors)),
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the summary, indented, with a final newline.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.Summary)
}

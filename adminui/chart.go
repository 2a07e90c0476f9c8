package adminui

import (
	"strconv"
	"strings"

	auth "github.com/authd/auth"
)

// chart is a bar chart drawn as inline SVG on the server: the geometry is
// computed here, the template only writes it out.
type chart struct {
	Width, Height int
	Bars          []chartBar
	Grid          []gridLine
	BaseY         int
	PlotLeft      int
	PlotRight     int
	Summary       string // the text alternative
	Total         int
	Partial       bool
}

type chartBar struct {
	X, Y, W, H   int
	LabelX       int
	ValueY       int
	Value        int
	Day, Date    string
	Title        string
	Today, Empty bool
}

type gridLine struct {
	Y     int
	Label string
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 640
	chartHeight = 260
	chartLeft   = 44
	chartRight  = 12
	chartTop    = 24
	chartBottom = 44
)

// newChart lays out one bar per day.
func newChart(days []auth.DayCount, partial bool) chart {
	c := chart{Width: chartWidth, Height: chartHeight, BaseY: chartHeight - chartBottom,
		PlotLeft: chartLeft, PlotRight: chartWidth - chartRight, Partial: partial}
	peak := 0
	for _, d := range days {
		peak = max(peak, d.Logins)
		c.Total += d.Logins
	}
	top := niceCeiling(peak)
	plotH := c.BaseY - chartTop
	for _, v := range []int{0, top / 2, top} {
		c.Grid = append(c.Grid, gridLine{Y: c.BaseY - v*plotH/top, Label: strconv.Itoa(v)})
	}
	if len(days) == 0 {
		return c
	}
	slot := (c.PlotRight - c.PlotLeft) / len(days)
	barW := slot * 3 / 5
	var parts []string
	for i, d := range days {
		h := d.Logins * plotH / top
		if d.Logins > 0 && h < 2 {
			h = 2
		}
		x := c.PlotLeft + i*slot + (slot-barW)/2
		c.Bars = append(c.Bars, chartBar{X: x, Y: c.BaseY - h, W: barW, H: h, LabelX: x + barW/2,
			ValueY: c.BaseY - h - 6, Value: d.Logins, Day: d.Day.Format("Mon"), Date: d.Day.Format("2 Jan"),
			Today: i == len(days)-1, Empty: d.Logins == 0,
			Title: d.Day.Format("Mon 2 Jan") + ": " + plural(d.Logins, "login")})
		parts = append(parts, d.Day.Format("Mon 2 Jan")+": "+strconv.Itoa(d.Logins))
	}
	c.Summary = "Logins per day over the last " + strconv.Itoa(len(days)) + " days. " + strings.Join(parts, "; ") + "."
	return c
}

// niceCeiling returns the smallest of 4, 10, 20, 50, 100, 200, 500, … that
// is at least n, so the grid's middle line is a whole number.
func niceCeiling(n int) int {
	if n <= 4 {
		return 4
	}
	for base := 10; ; base *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*base >= n {
				return m * base
			}
		}
	}
}

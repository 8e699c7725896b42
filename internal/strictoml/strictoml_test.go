package strictoml

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type conf struct {
		Name  string `toml:"name"`
		Count int    `toml:"count"`
	}
	tests := []struct {
		in      string
		want    conf
		wantErr string
	}{
		{in: "name = \"a\"\ncount = 2\n", want: conf{Name: "a", Count: 2}},
		{in: "name = \"a\"\ncuont = 2\n", wantErr: `line 2: unknown setting "cuont"`},
		{in: "count = \"two\"\n", wantErr: "line 1"},
		{in: "name = \n", wantErr: "line 1"},
	}
	for _, tt := range tests {
		var got conf
		err := Decode([]byte(tt.in), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decode(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Decode(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

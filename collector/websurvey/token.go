package websurvey

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/npskiosk/npskiosk/response"
)

// answer is what the follow-up needs of the answer the score page stored: the shopper's
// browser carries it in a signed token (the follow-up page's address and its form), so
// only that browser can add to the answer or change it, and no collector needs to
// remember anything between the two pages.
type answer struct {
	ID      string    // the response's UUIDv7, made by the collector on the score's POST
	Created time.Time // when the score was stored, to the millisecond
	Score   int       // the score stored
	Suspect bool      // stored flagged as a repeat
	// Segment is the customer segment the link's address named (?segment=), kept so the
	// follow-up, which replaces the response, keeps it too; empty when none.
	Segment string
}

// errToken is a token that is not one this collector's database signed for the link.
var errToken = errors.New("the answer token is not valid")

// tokenContext binds a token to its use and its link: one made for a link does not
// revise another's answer.
func tokenContext(linkID string) string { return "websurvey/followup/v1|" + linkID + "|" }

// sign makes the token of a, for the link, with the database's survey key.
func sign(key []byte, linkID string, a answer) string {
	suspect := "0"
	if a.Suspect {
		suspect = "1"
	}
	parts := []string{a.ID, strconv.FormatInt(a.Created.UnixMilli(), 10), strconv.Itoa(a.Score), suspect}
	if a.Segment != "" {
		// A segment is a label (a-z, 0-9, - and _), so it never holds the separator.
		parts = append(parts, a.Segment)
	}
	payload := strings.Join(parts, ".")
	return payload + "." + mac(key, linkID, payload)
}

func mac(key []byte, linkID, payload string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(tokenContext(linkID) + payload))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// maxToken bounds what verify reads: a real token is about 80 bytes, 113 with the
// longest segment.
const maxToken = 200

// verify reads a token made by sign for the link.
func verify(key []byte, linkID, token string) (answer, error) {
	if len(token) > maxToken {
		return answer{}, errToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 5 && len(parts) != 6 { // 6: with a segment
		return answer{}, errToken
	}
	payload := strings.Join(parts[:len(parts)-1], ".")
	if !hmac.Equal([]byte(parts[len(parts)-1]), []byte(mac(key, linkID, payload))) {
		return answer{}, errToken
	}
	var segment string
	if len(parts) == 6 {
		if segment = parts[4]; response.CheckLabel("segment", segment) != nil {
			return answer{}, errToken
		}
	}
	id, err := uuid.Parse(parts[0])
	if err != nil || id.Version() != 7 || id.String() != parts[0] {
		return answer{}, errToken
	}
	ms, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return answer{}, errToken
	}
	score, err := strconv.Atoi(parts[2])
	if err != nil || score < 0 || score > 10 || parts[3] != "0" && parts[3] != "1" {
		return answer{}, errToken
	}
	return answer{ID: parts[0], Created: time.UnixMilli(ms), Score: score, Suspect: parts[3] == "1", Segment: segment}, nil
}

// An answer id is the response id the score page's form carries (field "a"), made when
// the page is shown and signed for its link: posting the same page twice (a double tap
// without script, a browser's retry, the back button to a page kept in memory) names
// the same answer, so it is stored once. Signed, so that a post cannot name another
// shopper's answer or pick ids of its own: one whose signature fails gets a new id.

// answerIDContext binds an answer id's signature to its use and its link.
func answerIDContext(linkID string) string { return "websurvey/answer/v1|" + linkID + "|" }

// maxAnswerID bounds what verifyAnswerID reads: a real one is 59 bytes.
const maxAnswerID = 80

// signAnswerID makes the form value of a new answer's id, for the link.
func signAnswerID(key []byte, linkID, id string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(answerIDContext(linkID) + id))
	return id + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// verifyAnswerID reads a form value made by signAnswerID for the link.
func verifyAnswerID(key []byte, linkID, v string) (string, error) {
	if len(v) > maxAnswerID {
		return "", errToken
	}
	id, _, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(v), []byte(signAnswerID(key, linkID, id))) {
		return "", errToken
	}
	if u, err := uuid.Parse(id); err != nil || u.Version() != 7 || u.String() != id {
		return "", errToken
	}
	return id, nil
}

package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/npskiosk/npskiosk/nps"
)

// Revision says what ReviseResponse did.
type Revision struct {
	Changed bool // the content differed and was replaced
	Events  int  // events and thank-you e-mails queued for the alert worker: wake it when not zero
}

// ReviseResponse replaces the content of a response that came through a survey link:
// the follow-up a shopper adds after the score, or a second answer to the same
// invitation. It moves the response's count in the rollups to its new category, in
// the same transaction, so the figures never count it twice or lose it. The day,
// channel and touchpoint stay those of the first answer. A case is opened (r.Case) if
// the response now calls for one and has none; a case it has stays, and shows the
// revised response. A thank-you is queued (r.Thanks) if the response now calls for one
// and has none queued or sent, and an unsent one is cancelled if it no longer does. A
// response of another link is ErrNotFound.
func (db *DB) ReviseResponse(ctx context.Context, o Origin, r NewResponse) (Revision, error) {
	var (
		storeID, day, channel, touchpoint, segment, hash string
		oldReasons                                       string
		score                                            int
		suspect, wasWorth                                bool
		link, fingerprint                                sql.NullString
	)
	listening, err := db.listeners(ctx, o.StoreID)
	if err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	defer t.Rollback()
	err = t.QueryRowContext(ctx, `
		SELECT store_id, link_id, day, channel, touchpoint, score, suspect, content_hash, reasons, segment, theme_fingerprint, worth_a_look
		  FROM responses WHERE id = ?`+db.dialect.forUpdate,
		r.ID).Scan(&storeID, &link, &day, &channel, &touchpoint, &score, &suspect, &hash, &oldReasons, &segment, &fingerprint, &wasWorth)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (o.LinkID == "" || link.String != o.LinkID || storeID != o.StoreID) {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, ErrNotFound)
	}
	if err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	if hash == r.Hash {
		return Revision{}, nil
	}
	// Before any rollup row: an upload of the store takes this lock first too.
	if err := lockStoreRollups(ctx, t, storeID); err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	reasons, _ := json.Marshal(r.Reasons)
	if r.Reasons == nil {
		reasons = []byte("[]")
	}
	sentiment, sentimentScore, worth, tagFingerprint := tagColumns(r.Tags)
	contact, err := db.vault.Seal(r.Contact)
	if err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	if _, err := t.ExecContext(ctx, `
		UPDATE responses SET score = ?, reasons = ?, comment = ?, contact = ?, contact_consent = ?, locale = ?,
		       completed_at = ?, outcome = ?, content_hash = ?, answers = ?, order_id = ?, segment = ?, contact_sealed = ?,
		       sentiment = ?, sentiment_score = ?, worth_a_look = ?, theme_fingerprint = ?, contact_index = ?
		 WHERE id = ?`,
		r.Score, string(reasons), r.Comment, contact, r.ContactConsent, r.Locale,
		r.CompletedAt.UnixMilli(), string(r.Outcome), r.Hash, answersColumn(r.Answers), r.OrderID, r.Segment,
		nullable(r.SealedContact), sentiment, sentimentScore, worth, tagFingerprint, nullable(db.vault.Index(r.Contact)), r.ID); err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	if err := moveThemes(ctx, t, storeID, r, fingerprint.Valid, themeCounted{day, channel, touchpoint, segment, score, suspect, wasWorth, oldReasons}); err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	rev := Revision{Changed: true}
	// The count moves when the category changes, or the segment (a follow-up may carry
	// one the score's page did not): out of the old row, into the new one.
	if moves := rollupMove(rollupKey{day, channel, touchpoint, segment}, rollupKey{day, channel, touchpoint, r.Segment},
		score, r.Score, suspect); len(moves) > 0 {
		if err := addRollups(ctx, t, storeID, moves); err != nil {
			return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
		}
	}
	if r.Case != nil {
		r.Day, r.Channel, r.Touchpoint = day, channel, touchpoint
		queued, err := openCases(ctx, t, db.vault, wants(listening, EventCaseOpened), storeID, []NewResponse{r}, db.now())
		if err != nil {
			return Revision{}, err
		}
		rev.Events += queued
	}
	if r.Thanks != nil {
		queued, err := queueThankYou(ctx, t, storeID, r, db.now())
		if err != nil {
			return Revision{}, err
		}
		if queued {
			rev.Events++
		}
	} else if err := cancelThankYou(ctx, t, r.ID); err != nil {
		return Revision{}, err
	}
	if err := t.Commit(); err != nil {
		return Revision{}, fmt.Errorf("revise %s: %w", r.ID, err)
	}
	return rev, nil
}

// rollupMove is what the rollups change by when a response counted under key from with
// score before is now under key to with score after; nil when nothing moves. A suspect
// response is counted as suspect whatever its score.
func rollupMove(from, to rollupKey, before, after int, suspect bool) map[rollupKey]dayCounts {
	if from == to && (suspect || nps.Score(before).Category() == nps.Score(after).Category()) {
		return nil
	}
	var out, in dayCounts
	if suspect {
		out.suspect, in.suspect = -1, 1
	} else {
		var old nps.Tally
		old.Add(nps.Score(before))
		out.Promoters, out.Passives, out.Detractors = -old.Promoters, -old.Passives, -old.Detractors
		in.Add(nps.Score(after))
	}
	if from == to {
		in.Promoters += out.Promoters
		in.Passives += out.Passives
		in.Detractors += out.Detractors
		return map[rollupKey]dayCounts{to: in}
	}
	return map[rollupKey]dayCounts{from: out, to: in}
}

// themeCounted is what a stored response was counted under in theme_rollups.
type themeCounted struct {
	day, channel, touchpoint, segment string
	score                             int
	suspect, worth                    bool
	reasons                           string // the reasons column
}

// moveThemes replaces a revised response's themes and moves its counts in theme_rollups
// from what it was counted under (when it was tagged) to its new score, segment, themes
// and reasons (when r is tagged). Day, channel and touchpoint stay the first answer's.
func moveThemes(ctx context.Context, t tx, storeID string, r NewResponse, wasTagged bool, old themeCounted) error {
	counts := map[themeKey]nps.Tally{}
	if wasTagged {
		themes, err := storedThemes(ctx, t, r.ID)
		if err != nil {
			return err
		}
		reasons, err := decodeReasons(old.reasons)
		if err != nil {
			return err
		}
		themeCounts(counts, -1, old.day, old.channel, old.touchpoint, old.segment, old.score, old.suspect, old.worth, themes, reasons)
		if _, err := t.ExecContext(ctx, `DELETE FROM response_themes WHERE response_id = ?`, r.ID); err != nil {
			return fmt.Errorf("themes of %s: %w", r.ID, err)
		}
	}
	if r.Tags != nil {
		var w themeRows
		w.add(r.ID, r.Tags)
		if err := w.insert(ctx, t); err != nil {
			return fmt.Errorf("themes of %s: %w", r.ID, err)
		}
		themeCounts(counts, 1, old.day, old.channel, old.touchpoint, r.Segment, r.Score, old.suspect, r.Tags.WorthALook, themeKeys(r.Tags), r.Reasons)
	}
	return addThemeRollups(ctx, t, storeID, counts)
}

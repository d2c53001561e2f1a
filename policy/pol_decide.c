/*
 * pol_decide.c - sliding windows and the verdict on one message.
 *
 * Windows are counted in one-minute buckets; the count for a window always
 * includes one bucket more than the window, so it is never below the true
 * count of any exact window ending now.  That is what makes a limit a hard
 * cap: a message is accepted only if the counted total plus its recipients
 * stays within the limit.  Spam limits count spam-judged messages and are
 * "reached" rather than exceeded: the message that brings the count to the
 * limit is the one refused.  Counters saturate instead of wrapping.
 *
 * Pure functions: "now" is a parameter.  Reentrant.
 */
#include <stdio.h>

#include "policy.h"

#define DAY_SECONDS	86400

int64_t
pol_bucket(int64_t now)
{
	/* Floor division, so that times before 1970 would still order. */
	return now >= 0 ? now / POL_BUCKET_SECONDS :
	    -((-now + POL_BUCKET_SECONDS - 1) / POL_BUCKET_SECONDS);
}

int64_t
pol_window_start(int64_t now, int nbuckets)
{
	return pol_bucket(now) - nbuckets;
}

void
pol_window_forgive(int64_t ended, int64_t *hour_from, int64_t *day_from)
{
	int64_t from = pol_bucket(ended);

	if (*hour_from < from)
		*hour_from = from;
	if (*day_from < from)
		*day_from = from;
}

uint32_t
pol_sat_add(uint32_t a, uint32_t n)
{
	return n > UINT32_MAX - a ? UINT32_MAX : a + n;
}

pol_verdict
pol_decide(const pol_effective *eff, const pol_counts *cur, uint32_t n_int,
    uint32_t n_ext, bool spam, pol_crossing *cross)
{
	uint32_t before[POL_LIM_COUNT], added[POL_LIM_COUNT];
	int id;

	if (eff->pe_exempt)
		return POL_VERDICT_ACCEPT;

	before[POL_LIM_EXT_HOUR] = cur->pc_ext_hour;
	added[POL_LIM_EXT_HOUR] = n_ext;
	before[POL_LIM_INT_HOUR] = cur->pc_int_hour;
	added[POL_LIM_INT_HOUR] = n_int;
	before[POL_LIM_DAY] = cur->pc_day;
	added[POL_LIM_DAY] = pol_sat_add(n_int, n_ext);
	before[POL_LIM_SPAM_HOUR] = cur->pc_spam_hour;
	added[POL_LIM_SPAM_HOUR] = spam ? 1 : 0;
	before[POL_LIM_SPAM_DAY] = cur->pc_spam_day;
	added[POL_LIM_SPAM_DAY] = spam ? 1 : 0;

	for (id = 0; id < POL_LIM_COUNT; id++) {
		uint32_t limit = eff->pe_limits.lim_value[id];
		uint32_t after = pol_sat_add(before[id], added[id]);
		/* A spam limit is "reached", a recipient limit "exceeded":
		 * compare the spam counts one lower. */
		uint32_t over = pol_limit_is_spam((pol_limit_id)id) ? 1 : 0;

		/* A message that adds nothing to a window cannot cross it. */
		if (limit == 0 || added[id] == 0 ||
		    pol_sat_add(after, over) <= limit)
			continue;
		/* Alert once per crossing, not for every message beyond. */
		if (eff->pe_action == POL_ACT_ALERT &&
		    pol_sat_add(before[id], over) > limit)
			continue;
		cross->pcr_limit = (pol_limit_id)id;
		cross->pcr_value = limit;
		cross->pcr_count = after;
		return eff->pe_action == POL_ACT_ALERT ? POL_VERDICT_ALERT :
		    POL_VERDICT_RESTRICT;
	}
	return POL_VERDICT_ACCEPT;
}

bool
pol_expiry(pol_action action, int64_t now, int64_t *expires)
{
	if (action != POL_ACT_BLOCK_UNTIL_TOMORROW)
		return false;
	*expires = (now - (now % DAY_SECONDS + DAY_SECONDS) % DAY_SECONDS) +
	    DAY_SECONDS;
	return true;
}

const char *
pol_limit_name(pol_limit_id id)
{
	switch (id) {
	case POL_LIM_EXT_HOUR:
		return "external_recipients_per_hour";
	case POL_LIM_INT_HOUR:
		return "internal_recipients_per_hour";
	case POL_LIM_DAY:
		return "recipients_per_day";
	case POL_LIM_SPAM_HOUR:
		return "spam_messages_per_hour";
	case POL_LIM_SPAM_DAY:
		return "spam_messages_per_day";
	case POL_LIM_COUNT:
		break;
	}
	return "unknown_limit";
}

bool
pol_limit_is_spam(pol_limit_id id)
{
	return id == POL_LIM_SPAM_HOUR || id == POL_LIM_SPAM_DAY;
}

const char *
pol_action_name(pol_action action)
{
	switch (action) {
	case POL_ACT_BLOCK_UNTIL_TOMORROW:
		return "block_until_tomorrow";
	case POL_ACT_BLOCK:
		return "block";
	case POL_ACT_ALERT:
		return "alert";
	}
	return "unknown_action";
}

void
pol_reason(const pol_crossing *cross, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	/* snprintf truncates and terminates; a short reason is still useful. */
	if (pol_limit_is_spam(cross->pcr_limit))
		(void)snprintf(out, outlen, "%s %u reached: %u spam message%s",
		    pol_limit_name(cross->pcr_limit), cross->pcr_value,
		    cross->pcr_count, cross->pcr_count == 1 ? "" : "s");
	else
		(void)snprintf(out, outlen, "%s %u exceeded: %u recipients",
		    pol_limit_name(cross->pcr_limit), cross->pcr_value,
		    cross->pcr_count);
}

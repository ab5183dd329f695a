/** ISO weeks in UTC, for the weekly free grant (spec section 5). */
const DAY_MS = 86_400_000;

/** Monday 00:00 UTC of the ISO week containing `d`. */
export function weekStart(d: Date): Date {
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day));
}

export function nextWeekStart(d: Date): Date {
  return new Date(weekStart(d).getTime() + 7 * DAY_MS);
}

/** "2026-W48": the ISO week-numbering year and week of `d`. */
export function isoWeek(d: Date): string {
  const monday = weekStart(d);
  // The ISO year is the year of the week's Thursday.
  const thursday = new Date(monday.getTime() + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const jan4 = new Date(Date.UTC(year, 0, 4));
  const week = 1 + Math.round((monday.getTime() - weekStart(jan4).getTime()) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

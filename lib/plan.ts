/**
 * Planning compression, with no I/O: which slots the memo fills, which new texts go to the service
 * (each once), and which of the service's answers may be written back. Pure functions over slots and
 * values, so every rule here has a unit test of its own (`__tests__/unit/plan.test.ts`).
 *
 * The rules that keep compression lossless and prompt-cache-stable:
 * - a slot the memo knows gets the memo's value, history or new (later turns repeat the same bytes);
 * - a history slot the memo does not know is never sent: the model read it as it is;
 * - new slots the memo does not know are sent, identical texts once;
 * - an answer is taken only if it is still text, not empty and not longer than the original.
 */
import { estimateTokens, textOfServiceRow, type TextSlot } from './codec';

export interface CompressionPlan {
  /** Slots to write from the memo, with the value to write (only where it differs from the slot's text). */
  fromMemo: Array<[TextSlot, string]>;
  /** Slots the memo knew (written or already equal). */
  memoHits: number;
  /** Memo keys of the texts to send, in first-appearance order. */
  sendKeys: string[];
  /** For each send key: every slot holding that text (the first is the one sent). */
  groups: Map<string, TextSlot[]>;
  /** Estimated tokens of the texts to send. */
  estimatedTokens: number;
  /** New texts not sent because each was estimated under `minTokens`. */
  belowMinTokens: number;
}

/**
 * Plans a request from its slots, their memo keys, and what the memo holds for each key. A new
 * text estimated under `minTokens` is not sent: the threshold applies to each output on its own,
 * so one large output is compressed on the turn it arrives whatever else the request carries.
 */
export function planCompression(slots: TextSlot[], keys: string[], known: Array<string | undefined>, minTokens = 0): CompressionPlan {
  const plan: CompressionPlan = { fromMemo: [], memoHits: 0, sendKeys: [], groups: new Map(), estimatedTokens: 0, belowMinTokens: 0 };
  for (let i = 0; i < slots.length; i++) {
    const value = known[i];
    const slot = slots[i];
    if (value !== undefined) {
      plan.memoHits++;
      if (value !== slot.text) plan.fromMemo.push([slot, value]);
    } else if (slot.isNew) {
      const group = plan.groups.get(keys[i]);
      if (group) group.push(slot);
      else {
        const estimate = estimateTokens(slot.text);
        if (estimate < minTokens) {
          plan.belowMinTokens++;
          continue;
        }
        plan.groups.set(keys[i], [slot]);
        plan.sendKeys.push(keys[i]);
        plan.estimatedTokens += estimate;
      }
    }
  }
  return plan;
}

/** The slots whose text is sent, one per send key. */
export function slotsToSend(plan: CompressionPlan): TextSlot[] {
  return plan.sendKeys.map((k) => plan.groups.get(k)![0]);
}

export interface Acceptance {
  /** The text to write and remember: the answer, or the original when the answer is refused. */
  text: string;
  /** The service answered something other than usable text for this row (or a longer one). */
  rejected: boolean;
}

/**
 * Decides, slot by slot, what of the service's answer is taken. `rows` is the reply's `messages`,
 * `taken[j]` the index of slot j's row in them, `sentRoles` the role each row was sent with (an
 * answer that changed the role is not the row sent). Context rows are never taken.
 */
export function acceptAnswers(sent: TextSlot[], rows: unknown[], sentRoles: string[], taken: number[] = sent.map((_, j) => j)): Acceptance[] {
  return sent.map((slot, j) => {
    const original = slot.text;
    const text = textOfServiceRow(rows[taken[j]], sentRoles[taken[j]]);
    const usable = text !== undefined && text.length > 0 && text.length <= original.length;
    return { text: usable ? text : original, rejected: text === undefined || (!usable && text !== original) };
  });
}

import { Clock, Database, Errors, type Outcome, parseTokens } from '@app/common';
import { Injectable } from '@nestjs/common';
import type { PutAlertDto, PutBudgetDto } from './dto/controls.dto.js';
import { CONTROL_NAME } from './dto/controls.dto.js';
import { type AlertDefinition, Ledger } from './ledger.js';
import type { AlertView, BudgetView } from './views.js';
import { assertOwnerId, WalletService } from './wallet.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Alert names that start with _ are the service's own (_auto_top_up): shown, but not changed through this API. */
export const SERVICE_ALERT_PREFIX = '_';

function assertName(name: string, what: 'budget' | 'alert', changing = false): void {
  if (changing && name.startsWith(SERVICE_ALERT_PREFIX)) {
    throw Errors.validation(`${what} names starting with _ are the service's own`, [
      { field: 'name', message: `${what} names starting with _ are reserved (auto top-up keeps _auto_top_up)` },
    ]);
  }
  if (!CONTROL_NAME.test(name)) {
    throw Errors.validation(`The ${what} name must be 1-64 characters of A-Z a-z 0-9 _ . -`, [
      { field: 'name', message: `${what} name must be 1-64 characters of A-Z a-z 0-9 _ . -` },
    ]);
  }
}

/** Budgets and alerts of a wallet (spec section 9): the ledger's SQL keeps and enforces them. */
@Injectable()
export class SpendControlsService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
    private readonly wallets: WalletService,
  ) {}

  async budgets(ownerId: string): Promise<{ data: BudgetView[] }> {
    const walletId = await this.wallets.idOf(ownerId);
    const rows = await this.db.query<{ b: BudgetView }>(
      `SELECT ledger_budget_view(b, $2) AS b FROM budgets b WHERE b.wallet_id = $1 ORDER BY b.name`,
      [walletId, this.clock.now()],
    );
    return { data: rows.map((r) => r.b) };
  }

  async budget(ownerId: string, name: string): Promise<BudgetView> {
    assertName(name, 'budget');
    const found = (await this.budgets(ownerId)).data.find((b) => b.name === name);
    if (!found) throw Errors.notFound('budget_not_found', `Wallet ${ownerId} has no budget ${name}`);
    return found;
  }

  async putBudget(ownerId: string, name: string, dto: PutBudgetDto): Promise<Outcome<BudgetView>> {
    assertOwnerId(ownerId);
    assertName(name, 'budget', true);
    if (dto.scope === 'wallet' && dto.subject !== undefined) {
      throw Errors.validation('A budget of scope wallet has no subject', [
        { field: 'subject', message: 'subject must be absent for scope wallet' },
      ]);
    }
    if (dto.scope !== 'wallet' && dto.subject === undefined) {
      throw Errors.validation(`A budget of scope ${dto.scope} needs a subject`, [
        { field: 'subject', message: `subject is the ${dto.scope === 'api_key' ? 'API key id' : 'spender_id'} the budget limits` },
      ]);
    }
    if (dto.scope === 'api_key') {
      if (!UUID.test(dto.subject as string)) {
        throw Errors.validation('subject must be an API key id (a lowercase UUID)', [
          { field: 'subject', message: 'subject must be an API key id' },
        ]);
      }
      const keys = await this.db.query(`SELECT 1 FROM api_keys WHERE id = $1`, [dto.subject]);
      if (keys.length === 0) throw Errors.notFound('api_key_not_found', `No API key ${dto.subject as string}`);
    }
    const out = await this.ledger.putBudget(ownerId, name, {
      limit: parseTokens(dto.limit, { allowZero: true }),
      period: dto.period,
      scope: dto.scope,
      subject: dto.subject ?? null,
    });
    return { status: out.created ? 201 : 200, body: out.budget };
  }

  async deleteBudget(ownerId: string, name: string): Promise<void> {
    assertOwnerId(ownerId);
    assertName(name, 'budget', true);
    if (!(await this.ledger.deleteBudget(ownerId, name)))
      throw Errors.notFound('budget_not_found', `Wallet ${ownerId} has no budget ${name}`);
  }

  async alerts(ownerId: string): Promise<{ data: AlertView[] }> {
    const walletId = await this.wallets.idOf(ownerId);
    const rows = await this.db.query<{ a: AlertView }>(
      `SELECT ledger_alert_view(a) AS a FROM alerts a WHERE a.wallet_id = $1 ORDER BY a.name`,
      [walletId],
    );
    return { data: rows.map((r) => r.a) };
  }

  async alert(ownerId: string, name: string): Promise<AlertView> {
    assertName(name, 'alert');
    const found = (await this.alerts(ownerId)).data.find((a) => a.name === name);
    if (!found) throw Errors.notFound('alert_not_found', `Wallet ${ownerId} has no alert ${name}`);
    return found;
  }

  async putAlert(ownerId: string, name: string, dto: PutAlertDto): Promise<Outcome<AlertView>> {
    assertOwnerId(ownerId);
    assertName(name, 'alert', true);
    const misfit = (field: string, message: string) => Errors.validation(message, [{ field, message }]);
    let def: AlertDefinition;
    if (dto.type === 'balance_below') {
      if (dto.threshold === undefined) throw misfit('threshold', 'threshold is required for a balance_below alert');
      if (dto.budget !== undefined || dto.percent !== undefined) throw misfit('budget', 'a balance_below alert takes only threshold');
      def = { type: 'balance_below', threshold: parseTokens(dto.threshold, { allowZero: true }) };
    } else {
      if (dto.budget === undefined) throw misfit('budget', 'budget is required for a budget_used alert');
      if (dto.percent === undefined) throw misfit('percent', 'percent is required for a budget_used alert');
      if (dto.threshold !== undefined) throw misfit('threshold', 'a budget_used alert takes budget and percent, not threshold');
      def = { type: 'budget_used', budget: dto.budget, percent: dto.percent };
    }
    const out = await this.ledger.putAlert(ownerId, name, def);
    return { status: out.created ? 201 : 200, body: out.alert };
  }

  async deleteAlert(ownerId: string, name: string): Promise<void> {
    assertOwnerId(ownerId);
    assertName(name, 'alert', true);
    if (!(await this.ledger.deleteAlert(ownerId, name))) throw Errors.notFound('alert_not_found', `Wallet ${ownerId} has no alert ${name}`);
  }
}

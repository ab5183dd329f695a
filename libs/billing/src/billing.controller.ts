import { ApiErrors, ApiOwnerIdParam, BODY_ERRORS, CreatedAt, GATEWAY_ERRORS, LOCATION_HEADER, reply, RequireScope } from '@app/common';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AutoTopUpService } from './auto-top-up.service.js';
import { BillingService } from './billing.service.js';
import { AutoTopUpDto } from './dto/auto-top-up-views.dto.js';
import { CreateSetupSessionDto, PutAutoTopUpDto } from './dto/auto-top-up.dto.js';
import { CreateCheckoutSessionDto, CreatePortalSessionDto } from './dto/checkout.dto.js';
import { CatalogDto, CheckoutSessionDto, PortalSessionDto, StripeWebhookReceiptDto } from './dto/views.dto.js';
import { WebhookIntakeService } from './webhook-intake.service.js';

@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1/billing')
@RequireScope('gateway')
export class BillingController {
  constructor(private readonly billing: BillingService) {}

  @Get('catalog')
  @ApiOperation({ summary: 'The billing catalog', description: 'The token packs and monthly plans on sale through Stripe.' })
  @ApiResponse({
    status: 200,
    type: CatalogDto,
    description:
      '{packs: [{id, tokens, usd, usd_per_token}], plans: [{id, tokens, usd, usd_per_token, interval}]}; tokens is a token string, usd dollars with 2 or more decimals.',
  })
  @ApiErrors(...GATEWAY_ERRORS)
  catalog() {
    return this.billing.view();
  }

  /** Moves no value itself (the webhook does), so it takes no Idempotency-Key. */
  @Post('checkout-sessions')
  @CreatedAt((session) => (typeof session.url === 'string' ? session.url : null))
  @ApiOperation({
    summary: 'Start a Stripe Checkout',
    description:
      "Creates a Checkout Session for a pack (mode payment) or a plan (mode subscription), for the wallet's Stripe customer (created once). The wallet is credited by the Stripe webhook when the payment succeeds, so this takes no Idempotency-Key.",
  })
  @ApiResponse({
    status: 201,
    type: CheckoutSessionDto,
    description: '{id, url, mode}: send the customer to url.',
    headers: LOCATION_HEADER,
  })
  @ApiErrors(...GATEWAY_ERRORS, ...BODY_ERRORS, 'pack_not_found', 'plan_not_found', 'wallet_not_found', 'stripe_not_configured')
  checkout(@Body() dto: CreateCheckoutSessionDto) {
    return this.billing.checkout(dto);
  }

  @Post('portal-sessions')
  @CreatedAt((session) => (typeof session.url === 'string' ? session.url : null))
  @ApiOperation({
    summary: 'Open the Stripe billing portal',
    description: "A portal session for the wallet's Stripe customer (invoices, plan, cards).",
  })
  @ApiResponse({ status: 201, type: PortalSessionDto, description: '{url}: send the customer to it.', headers: LOCATION_HEADER })
  @ApiErrors(...GATEWAY_ERRORS, ...BODY_ERRORS, 'wallet_not_found', 'stripe_not_configured')
  portal(@Body() dto: CreatePortalSessionDto) {
    return this.billing.portal(dto);
  }

  @Post('setup-sessions')
  @CreatedAt((session) => (typeof session.url === 'string' ? session.url : null))
  @ApiOperation({
    summary: 'Save a card for auto top-up',
    description:
      "A setup-mode Checkout Session for the wallet's Stripe customer: nothing is paid; when the customer completes it, the card becomes the wallet's default payment method for off-session charges (from the signed setup_intent.succeeded webhook).",
  })
  @ApiResponse({
    status: 201,
    type: CheckoutSessionDto,
    description: '{id, url, mode: "setup"}: send the customer to url.',
    headers: LOCATION_HEADER,
  })
  @ApiErrors(...GATEWAY_ERRORS, ...BODY_ERRORS, 'wallet_not_found', 'stripe_not_configured')
  setup(@Body() dto: CreateSetupSessionDto) {
    return this.billing.setupSession(dto);
  }
}

const AUTO_TOP_UP =
  '{owner_id, enabled, threshold, pack_id, max_per_month, payment_method: {id, brand, last4, saved_at} or null, failures, disabled_reason, this_month, attempts: [{crossing, status, payment_intent, tokens, amount_cents, error, created_at, updated_at}]} (the 10 latest attempts).';

@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1/wallets/:owner_id/auto-top-up')
@RequireScope('gateway')
export class AutoTopUpController {
  constructor(private readonly autoTopUp: AutoTopUpService) {}

  @Get()
  @ApiOperation({ summary: "A wallet's auto top-up", description: 'Its settings, saved payment method, state and latest attempts.' })
  @ApiOwnerIdParam()
  @ApiResponse({ status: 200, type: AutoTopUpDto, description: AUTO_TOP_UP })
  @ApiErrors(...GATEWAY_ERRORS, 'validation_error', 'wallet_not_found')
  get(@Param('owner_id') ownerId: string) {
    return this.autoTopUp.view(ownerId);
  }

  @Put()
  @ApiOperation({
    summary: 'Set up auto top-up',
    description:
      'When an operation leaves the available balance below threshold, one off-session PaymentIntent for the pack is made (at most one in flight, at most max_per_month a calendar month); the tokens are credited only from the signed payment_intent.succeeded webhook. Three failures in a row turn it off, with the reason shown.',
  })
  @ApiOwnerIdParam()
  @ApiResponse({ status: 201, type: AutoTopUpDto, description: `Created. ${AUTO_TOP_UP}` })
  @ApiResponse({ status: 200, type: AutoTopUpDto, description: `Replaced. ${AUTO_TOP_UP}` })
  @ApiErrors(...GATEWAY_ERRORS, ...BODY_ERRORS, 'wallet_not_found', 'pack_not_found', 'payment_method_required', 'wallet_busy')
  async put(@Param('owner_id') ownerId: string, @Body() dto: PutAutoTopUpDto, @Res({ passthrough: true }) res: FastifyReply) {
    return reply(res, await this.autoTopUp.put(ownerId, dto));
  }
}

/** Authenticated by the Stripe signature over the raw body, not by an API key. */
@ApiTags('billing')
@Controller('v1/stripe')
@RequireScope('public')
export class StripeWebhookController {
  constructor(private readonly intake: WebhookIntakeService) {}

  @Post('webhook')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Stripe webhook endpoint',
    description:
      'For Stripe only: takes no API key, but the Stripe-Signature over the raw body (STRIPE_WEBHOOK_SECRET). Each event is applied exactly once; duplicates are answered 200 too.',
  })
  @ApiHeader({ name: 'stripe-signature', required: true, description: 'The Stripe-Signature header Stripe sends: t=<unix>,v1=<hex HMAC>.' })
  @ApiBody({
    description: 'A Stripe event, verified on its exact bytes (at most 1 MB).',
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiResponse({
    status: 200,
    type: StripeWebhookReceiptDto,
    description: '{received: true, outcome, duplicate}: outcome says what the event did (or did before, on a duplicate).',
  })
  @ApiErrors('invalid_signature', 'invalid_event', 'validation_error', 'payload_too_large', 'database_unavailable')
  webhook(@Req() req: FastifyRequest, @Headers('stripe-signature') signature?: string) {
    return this.intake.receive(Buffer.isBuffer(req.body) ? req.body : undefined, signature);
  }
}

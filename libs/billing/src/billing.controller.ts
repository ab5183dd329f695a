import { RequireScope } from '@app/common';
import { Body, Controller, Get, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { BillingService } from './billing.service.js';
import { CreateCheckoutSessionDto, CreatePortalSessionDto } from './dto/checkout.dto.js';
import { WebhookIntakeService } from './webhook-intake.service.js';

@Controller('v1/billing')
@RequireScope('gateway')
export class BillingController {
  constructor(private readonly billing: BillingService) {}

  @Get('catalog')
  catalog() {
    return this.billing.view();
  }

  /** Moves no value itself (the webhook does), so it takes no Idempotency-Key. */
  @Post('checkout-sessions')
  checkout(@Body() dto: CreateCheckoutSessionDto) {
    return this.billing.checkout(dto);
  }

  @Post('portal-sessions')
  portal(@Body() dto: CreatePortalSessionDto) {
    return this.billing.portal(dto);
  }
}

/** Authenticated by the Stripe signature over the raw body, not by an API key. */
@Controller('v1/stripe')
@RequireScope('public')
export class StripeWebhookController {
  constructor(private readonly intake: WebhookIntakeService) {}

  @Post('webhook')
  @HttpCode(200)
  webhook(@Req() req: Request, @Headers('stripe-signature') signature?: string) {
    return this.intake.receive(Buffer.isBuffer(req.body) ? req.body : undefined, signature);
  }
}

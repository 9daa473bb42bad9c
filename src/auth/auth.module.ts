import { type DynamicModule, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { OperatorGuard } from './operator.guard.js';
import { TokenVerifier } from './token-verifier.js';

@Module({})
export class AuthModule {
  static forRoot(secret: string): DynamicModule {
    return {
      module: AuthModule,
      imports: [JwtModule.register({ secret, verifyOptions: { algorithms: ['HS256'] } })],
      providers: [TokenVerifier, OperatorGuard],
      exports: [TokenVerifier, OperatorGuard],
    };
  }
}

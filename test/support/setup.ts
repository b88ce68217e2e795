import { config } from 'rxjs';

// RxJS reports errors nobody handles on a later tick; make them fail the test run instead of vanishing.
config.onUnhandledError = (error) => {
  throw error;
};

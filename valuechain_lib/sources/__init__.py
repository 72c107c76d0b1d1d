"""Raw public sources and their clients: SEC companyfacts files and API, share-price files and yfinance.
"""

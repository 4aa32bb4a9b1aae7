class ChineseByDefaultMiddleware:
    """The portal speaks Chinese unless the user chose another language (language cookie, set by
    the switcher). The browser's Accept-Language is ignored: an English-language browser on a
    bureau PC must not turn the portal English by itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
